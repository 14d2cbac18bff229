/**
 * `saas/volcengine`: Volcano Engine (ByteDance) text-to-speech over its HTTP API,
 * `POST {base}/api/v1/tts` with `Authorization: Bearer;<token>` (a semicolon, not a space) and
 * `{app: {appid, token, cluster}, user: {uid}, audio: {voice_type, encoding, speed_ratio},
 * request: {reqid, text, text_type: "plain", operation: "query"}}`. The answer is JSON with
 * `code` 3000 on success and the audio base64 in `data`; other codes are failures (3003
 * concurrency limit → rate limit; 3005/3006/3030/3031/3032/3040 → retryable server errors;
 * 3001/3010/3011/3050 → bad request).
 *
 * Parameters: `saas.api_key` (the access token, required), `saas.app_id` (required),
 * `saas.model` (the cluster, `volcano_tts`), `saas.base_url` (`https://openspeech.bytedance.com`),
 * `saas.timeout` (600 s), `saas.max_retries` (2). Voice defaults to `BV705_streaming`, format mp3.
 * Only speech is offered; `byzerllm query` reaches it with `{"input": …, "voice": …}`.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CallOptions } from '../../core/chat-model.js';
import type { EngineContext } from '../../core/deployment.js';
import type { EngineInstance, SpeechModelV1, SpeechRequest, SpeechResult } from '../../core/models.js';
import { errorFromResponse } from '../shared/upstream-errors.js';
import { parseWireBody } from '../shared/wire-body.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { retryVendorErrors, type VendorErrorKind, vendorError } from '../shared/vendor-error.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/volcengine';

export const VOLCENGINE_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('the access token, sent as `Authorization: Bearer;<token>`'),
  'saas.model': option.text('the TTS cluster', 'volcano_tts'),
  'saas.base_url': option.url('the API root', 'https://openspeech.bytedance.com'),
  'saas.app_id': option.requiredText('the application id'),
});
const SUCCESS = 3000;
const RATE_LIMIT_CODES = new Set([3003]);
const SERVER_CODES = new Set([3005, 3006, 3030, 3031, 3032, 3040]);

const ttsResponseSchema = z.looseObject({
  reqid: z.string().nullish(),
  code: z.number(),
  message: z.string().nullish(),
  data: z.string().nullish(),
});

const MEDIA_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg_opus: 'audio/ogg',
  pcm: 'audio/pcm',
};

export async function createVolcengineEngine(context: EngineContext): Promise<EngineInstance> {
  const options = VOLCENGINE_OPTIONS.fromContext(context);
  const token = options['saas.api_key'];
  const cluster = options['saas.model'];
  const appId = options['saas.app_id'];
  const errorContext = { provider: PROVIDER, secrets: [token] };
  const maxRetries = options['saas.max_retries'];
  const client = providerClient(options, {
    provider: PROVIDER,
    headers: { authorization: `Bearer;${token}` },
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const speech: SpeechModelV1 = {
    specificationVersion: 'v1',
    provider: PROVIDER,
    modelId: cluster,
    async doSpeech(request: SpeechRequest, options: CallOptions = {}): Promise<SpeechResult> {
      const encoding = request.responseFormat ?? 'mp3';
      const body = {
        app: { appid: appId, token: 'access_token', cluster },
        user: { uid: 'byzerllm' },
        audio: {
          voice_type: request.voice ?? 'BV705_streaming',
          encoding,
          speed_ratio: request.speed ?? 1.0,
          ...request.extra,
        },
        request: { reqid: randomUUID(), text: request.input, text_type: 'plain', operation: 'query' },
      };
      const parsed = await retryVendorErrors(
        { maxRetries, signal: options.signal, client },
        async (attempt) => {
          const response = await client.postJson('/api/v1/tts', body, { ...options, ...attempt });
          const answer = parseWireBody(ttsResponseSchema, response.body, {
            provider: PROVIDER,
            what: 'tts answer',
          });
          if (answer.code !== SUCCESS || !answer.data) throw failureOf(answer, errorContext);
          return answer;
        },
      );
      return {
        audio: Buffer.from(parsed.data ?? '', 'base64'),
        mediaType: MEDIA_TYPES[encoding] ?? 'application/octet-stream',
      };
    },
  };
  const meta = saasMeta({
    model_name: cluster,
    support_stream: false,
    support_chat_template: false,
    tasks: ['speech'],
  });
  return { meta, speech, dispose: () => client.close() };
}

function failureOf(
  parsed: z.infer<typeof ttsResponseSchema>,
  context: { provider: string; secrets: string[] },
): Error {
  const kind: VendorErrorKind = RATE_LIMIT_CODES.has(parsed.code)
    ? 'rate_limit'
    : SERVER_CODES.has(parsed.code)
      ? 'server'
      : 'bad_request';
  return vendorError({
    ...context,
    kind,
    vendorCode: parsed.code,
    message: parsed.message ?? '',
    body: { ...parsed, data: undefined },
  });
}
