/**
 * `POST /v1/images/generations`: `b64_json` answers; `response_format: "url"` gets `data:` URLs, since
 * the gateway stores no files to link to.
 */
import { z } from 'zod';
import type { ImageRequest } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './http.js';
import { parseRequest, setFields } from './validate.js';

const imageBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  prompt: z.string().min(1),
  n: z.number().int().min(1).max(10).nullish(),
  size: z
    .string()
    .regex(/^\d+x\d+$|^auto$/, 'expected WIDTHxHEIGHT, e.g. 1024x1024')
    .nullish(),
  quality: z.string().nullish(),
  response_format: z.enum(['b64_json', 'url']).nullish(),
});

export async function handleImages(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseRequest(imageBodySchema, body);
  const model = exchange.resolveModel(parsed.model);
  const request: ImageRequest = {
    prompt: parsed.prompt,
    ...setFields({ n: parsed.n, size: parsed.size, quality: parsed.quality }),
  };
  const result = await exchange.callModel(model, 'image', request);
  exchange.billedRequests = result.images.length;
  const asUrl = parsed.response_format === 'url';
  sendJson(exchange.response, 200, {
    created: Math.floor(Date.now() / 1000),
    data: result.images.map((image) => ({
      ...(asUrl ? { url: `data:${image.mediaType};base64,${image.base64}` } : { b64_json: image.base64 }),
      ...(image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}),
    })),
  });
  return 200;
}
