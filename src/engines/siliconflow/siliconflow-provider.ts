/**
 * `saas/siliconflow`: SiliconFlow image generation, `POST {base}/images/generations` with
 * `Authorization: Bearer <key>` and `{model, prompt, image_size, batch_size, num_inference_steps,
 * …}`; the answer lists image URLs (`images[{url}]`), which are downloaded here and returned as
 * base64 (Byzer-LLM's behaviour), each with the media type the download reported.
 *
 * Parameters: `saas.api_key` (required), `saas.model` (`black-forest-labs/FLUX.1-dev`),
 * `saas.base_url` (`https://api.siliconflow.cn/v1`), `saas.timeout` (600 s), `saas.max_retries` (2).
 * A request's `extra` (`negative_prompt`, `guidance_scale`, `seed`, `num_inference_steps`) is
 * passed through. SiliconFlow's chat models are `saas/openai` with its base URL.
 */
import { request as httpRequest } from 'undici';
import { z } from 'zod';
import type { CallOptions } from '../../core/chat-model.js';
import type { EngineContext } from '../../core/deployment.js';
import { upstreamErrorFromStatus } from '../../core/errors.js';
import type { EngineInstance, ImageModelV1, ImageRequest, ImageResult } from '../../core/models.js';
import { errorFromResponse } from '../shared/upstream-errors.js';
import { parseWireBody } from '../shared/wire-body.js';
import { defineProviderOptions, option, providerClient } from '../shared/provider-options.js';
import { errorFromTransport } from '../shared/transport-error.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { saasMeta } from '../shared/saas-meta.js';

const PROVIDER = 'saas/siliconflow';

export const SILICONFLOW_OPTIONS = defineProviderOptions(PROVIDER, {
  'saas.api_key': option.requiredText('sent as `Authorization: Bearer …`'),
  'saas.model': option.text('the image model', 'black-forest-labs/FLUX.1-dev'),
  'saas.base_url': option.url('the API root', 'https://api.siliconflow.cn/v1'),
});

const imageResponseSchema = z.looseObject({
  images: z.array(z.looseObject({ url: z.string() })),
});

export async function createSiliconFlowEngine(context: EngineContext): Promise<EngineInstance> {
  const options = SILICONFLOW_OPTIONS.fromContext(context);
  const apiKey = options['saas.api_key'];
  const modelId = options['saas.model'];
  const timeoutMs = options['saas.timeout'];
  const errorContext = { provider: PROVIDER, secrets: [apiKey] };
  const client = providerClient(options, {
    provider: PROVIDER,
    headers: { authorization: `Bearer ${apiKey}` },
    errorFromResponse: (response) => errorFromResponse(response, errorContext),
  });
  const image: ImageModelV1 = {
    specificationVersion: 'v1',
    provider: PROVIDER,
    modelId,
    async doGenerateImage(request: ImageRequest, options: CallOptions = {}): Promise<ImageResult> {
      const body: Record<string, unknown> = {
        model: modelId,
        prompt: request.prompt,
        image_size: request.size ?? '1024x1024',
        batch_size: request.n ?? 1,
        num_inference_steps: 20,
      };
      mergeExtra(body, request.extra);
      const response = await client.postJson('/images/generations', body, options);
      const parsed = parseWireBody(imageResponseSchema, response.body, {
        provider: PROVIDER,
        what: 'image answer',
      });
      const images = [];
      for (const { url } of parsed.images) images.push(await download(url, timeoutMs, options.signal));
      return { images };
    },
  };
  const meta = saasMeta({
    model_name: modelId,
    support_stream: false,
    support_chat_template: false,
    tasks: ['image'],
  });
  return { meta, image, dispose: () => client.close() };
}

/** The generated image's URL is pre-signed: fetched without our api key. */
async function download(
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ base64: string; mediaType: string }> {
  const origin = new URL(url).origin;
  try {
    const response = await httpRequest(url, {
      method: 'GET',
      signal: signal ?? null,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw upstreamErrorFromStatus({
        provider: PROVIDER,
        status: response.statusCode,
        message: `downloading the generated image from ${origin} failed`,
      });
    }
    const type = response.headers['content-type'];
    const mediaType = (Array.isArray(type) ? type[0] : type)?.split(';')[0] ?? 'image/png';
    return { base64: bytes.toString('base64'), mediaType };
  } catch (error) {
    throw errorFromTransport(error, {
      provider: PROVIDER,
      baseUrl: origin,
      timeoutMs,
      ...(signal ? { signal } : {}),
    });
  }
}
