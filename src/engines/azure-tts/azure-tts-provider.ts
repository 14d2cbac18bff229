/**
 * `saas/azure`: Azure AI Speech text-to-speech (Byzer-LLM's "azure" type is TTS only) over its REST
 * API: `POST https://{service_region}.tts.speech.microsoft.com/cognitiveservices/v1` with
 * `Ocp-Apim-Subscription-Key`, `Content-Type: application/ssml+xml`, `X-Microsoft-OutputFormat`
 * and an SSML body `<speak version='1.0' xml:lang='…'><voice name='…'>text</voice></speak>`; the
 * answer is the audio. mp3 is `audio-48khz-192kbitrate-mono-mp3`, wav `riff-24khz-16bit-mono-pcm`.
 *
 * Parameters: `saas.api_key` (required), `saas.service_region` (`eastus`), `saas.endpoint_id`
 * (a custom voice endpoint, sent as `?deploymentId=`), `saas.base_url` (the whole endpoint origin,
 * for sovereign clouds or a proxy), `saas.timeout` (600 s), `saas.max_retries` (2).
 * Voice defaults to `zh-CN-XiaoxiaoNeural`, language to `zh-CN` (request `extra.language`).
 */
import type { CallOptions } from '../../core/chat-model.js';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { EngineInstance, SpeechModelV1, SpeechRequest, SpeechResult } from '../../core/models.js';
import { errorFromResponse } from '../shared/upstream-errors.js';
import { defineProviderOptions, option, providerClient, readHttpUrl } from '../shared/provider-options.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/azure';

export const AZURE_TTS_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('the Speech resource key, sent as `Ocp-Apim-Subscription-Key`'),
  'saas.service_region': option.text('the Azure region of the Speech resource', 'eastus'),
  'saas.endpoint_id': option.text("a custom voice's endpoint (`?deploymentId=`)"),
  'saas.base_url': option.text(
    'the whole endpoint origin (default `https://<service_region>.tts.speech.microsoft.com`)',
  ),
  'saas.model': option.text('the model name reported in meta', 'azure-tts'),
});

export const AZURE_OUTPUT_FORMATS: Record<string, { header: string; mediaType: string }> = {
  mp3: { header: 'audio-48khz-192kbitrate-mono-mp3', mediaType: 'audio/mpeg' },
  wav: { header: 'riff-24khz-16bit-mono-pcm', mediaType: 'audio/wav' },
};

export async function createAzureTtsEngine(context: EngineContext): Promise<EngineInstance> {
  const options = AZURE_TTS_OPTIONS.fromContext(context);
  const apiKey = options['saas.api_key'];
  const region = options['saas.service_region'];
  if (!/^[a-z0-9]+$/.test(region)) {
    throw new InvalidArgumentError(
      `saas.service_region must be an Azure region name such as eastus, got "${region}"`,
    );
  }
  const endpointId = options['saas.endpoint_id'];
  const errorContext = { provider: PROVIDER, secrets: [apiKey] };
  const client = providerClient(options, {
    provider: PROVIDER,
    baseUrl: readHttpUrl(
      'saas.base_url',
      options['saas.base_url'] ?? `https://${region}.tts.speech.microsoft.com`,
    ),
    headers: { 'ocp-apim-subscription-key': apiKey },
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const path = `/cognitiveservices/v1${endpointId ? `?deploymentId=${encodeURIComponent(endpointId)}` : ''}`;
  const speech: SpeechModelV1 = {
    specificationVersion: 'v1',
    provider: PROVIDER,
    modelId: options['saas.model'],
    async doSpeech(request: SpeechRequest, options: CallOptions = {}): Promise<SpeechResult> {
      const formatName = request.responseFormat ?? 'mp3';
      const format = AZURE_OUTPUT_FORMATS[formatName];
      if (!format) {
        throw new InvalidArgumentError(
          `response_format "${formatName}" is not offered by ${PROVIDER}; allowed: ${Object.keys(AZURE_OUTPUT_FORMATS).join(', ')}`,
        );
      }
      const language = typeof request.extra?.language === 'string' ? request.extra.language : 'zh-CN';
      const voice = request.voice ?? 'zh-CN-XiaoxiaoNeural';
      const ssml = `<speak version='1.0' xml:lang='${escapeXml(language)}'><voice xml:lang='${escapeXml(language)}' name='${escapeXml(voice)}'>${escapeXml(request.input)}</voice></speak>`;
      const response = await client.postForBytes(path, ssml, 'application/ssml+xml', {
        ...options,
        headers: { 'x-microsoft-outputformat': format.header },
      });
      return { audio: response.bytes, mediaType: format.mediaType };
    },
  };
  const meta = saasMeta({
    model_name: 'azure-tts',
    support_stream: false,
    support_chat_template: false,
    tasks: ['speech'],
  });
  return { meta, speech, dispose: () => client.close() };
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');
}
