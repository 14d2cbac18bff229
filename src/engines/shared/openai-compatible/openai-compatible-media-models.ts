/**
 * The audio and image models of the OpenAI-compatible engine (`tts-1`, `whisper-1`, `dall-e-3`):
 *
 * - speech: `POST {base_url}/audio/speech` with `{model, input, voice, response_format, speed}`;
 *   the answer is the audio file's bytes.
 * - transcription: `POST {base_url}/audio/transcriptions` as `multipart/form-data` (`file`, `model`,
 *   `response_format=verbose_json`, and with timestamps `timestamp_granularities[]=word` and
 *   `=segment`, which OpenAI only honours with `verbose_json`).
 * - image: `POST {base_url}/images/generations` with `response_format: "b64_json"`, so the images
 *   come back inline and never need a second download.
 *
 * `request.extra` is merged into the body (JSON) or added as form fields (multipart).
 */
import type { CallOptions } from '../../../core/chat-model.js';
import type {
  ImageModelV1,
  ImageRequest,
  ImageResult,
  SpeechModelV1,
  SpeechRequest,
  SpeechResult,
  TranscriptionModelV1,
  TranscriptionRequest,
  TranscriptionResult,
} from '../../../core/models.js';
import type { OpenAICompatibleModelConfig } from './openai-compatible-chat-model.js';
import { imageResponseSchema, transcriptionResponseSchema } from './wire-schemas.js';
import { parseWireBody } from '../wire-body.js';
import { ProviderModel } from '../provider-model.js';

/** Media types of the OpenAI speech `response_format`s. */
const AUDIO_MEDIA_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  pcm: 'audio/pcm',
};

export class OpenAICompatibleSpeechModel
  extends ProviderModel<OpenAICompatibleModelConfig>
  implements SpeechModelV1
{
  async doSpeech(request: SpeechRequest, options: CallOptions = {}): Promise<SpeechResult> {
    const format = request.responseFormat ?? 'mp3';
    const body: Record<string, unknown> = {
      model: this.modelId,
      input: request.input,
      voice: request.voice ?? 'alloy',
      response_format: format,
    };
    if (request.speed !== undefined) body.speed = request.speed;
    mergeExtra(body, request.extra);
    const response = await this.config.client.postForBytes(
      '/audio/speech',
      JSON.stringify(body),
      'application/json',
      options,
    );
    return { audio: response.bytes, mediaType: AUDIO_MEDIA_TYPES[format] ?? 'application/octet-stream' };
  }
}

export class OpenAICompatibleTranscriptionModel
  extends ProviderModel<OpenAICompatibleModelConfig>
  implements TranscriptionModelV1
{
  async doTranscribe(request: TranscriptionRequest, options: CallOptions = {}): Promise<TranscriptionResult> {
    const form = new FormData();
    const extension = request.mediaType.split('/')[1]?.replace('mpeg', 'mp3') ?? 'wav';
    form.append('file', new Blob([request.audio], { type: request.mediaType }), `audio.${extension}`);
    form.append('model', this.modelId);
    form.append('response_format', 'verbose_json');
    if (request.timestamps !== false) {
      form.append('timestamp_granularities[]', 'word');
      form.append('timestamp_granularities[]', 'segment');
    }
    if (request.language) form.append('language', request.language);
    for (const [key, value] of Object.entries(request.extra ?? {})) {
      if (value !== undefined) form.append(key, typeof value === 'string' ? value : JSON.stringify(value));
    }
    // Response serialises the form with a boundary exactly as fetch would send it.
    const encoded = new Response(form);
    const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
    const payload = new Uint8Array(await encoded.arrayBuffer());
    const response = await this.config.client.postForBytes(
      '/audio/transcriptions',
      payload,
      contentType,
      options,
    );
    const parsed = parseWireBody(
      transcriptionResponseSchema,
      parseJson(Buffer.from(response.bytes).toString('utf8')),
      { provider: this.provider, what: 'transcription' },
    );
    const result: TranscriptionResult = { text: parsed.text };
    if (parsed.language) result.language = parsed.language;
    if (parsed.duration !== undefined && parsed.duration !== null) result.durationSeconds = parsed.duration;
    if (parsed.segments) {
      result.segments = parsed.segments.map(({ start, end, text }) => ({ start, end, text }));
    }
    if (parsed.words) result.words = parsed.words.map(({ start, end, word }) => ({ start, end, word }));
    return result;
  }
}

export class OpenAICompatibleImageModel
  extends ProviderModel<OpenAICompatibleModelConfig>
  implements ImageModelV1
{
  async doGenerateImage(request: ImageRequest, options: CallOptions = {}): Promise<ImageResult> {
    const body: Record<string, unknown> = {
      model: this.modelId,
      prompt: request.prompt,
      size: request.size ?? '1024x1024',
      n: request.n ?? 1,
      response_format: 'b64_json',
    };
    if (request.quality !== undefined) body.quality = request.quality;
    mergeExtra(body, request.extra);
    const response = await this.config.client.postJson('/images/generations', body, options);
    const parsed = parseWireBody(imageResponseSchema, response.body, {
      provider: this.provider,
      what: 'image response',
    });
    return {
      images: parsed.data.map((image) => ({
        base64: image.b64_json,
        mediaType: 'image/png',
        ...(image.revised_prompt ? { revisedPrompt: image.revised_prompt } : {}),
      })),
    };
  }
}

function mergeExtra(body: Record<string, unknown>, extra: Record<string, unknown> | undefined): void {
  for (const [key, value] of Object.entries(extra ?? {})) if (value !== undefined) body[key] = value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
