/**
 * `POST /v1/embeddings`: string or list input, `encoding_format` float or base64 (little-endian
 * float32, what the `openai` SDK v6 asks for by default), `dimensions` passed to engines that can
 * shorten embeddings.
 */
import { z } from 'zod';
import type { EmbeddingRequest } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { badField } from './map-error.js';
import { sendJson } from './http.js';
import { parseRequest } from './validate.js';

const embeddingBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048), z.array(z.unknown())]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});

export async function handleEmbeddings(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseRequest(embeddingBodySchema, body);
  const values = typeof parsed.input === 'string' ? [parsed.input] : parsed.input;
  if (!values.every((value): value is string => typeof value === 'string')) {
    throw badField('input', 'input must be a string or a list of strings; token-id inputs are not supported');
  }
  const model = exchange.resolveModel(parsed.model);
  const request: EmbeddingRequest = { values };
  if (parsed.dimensions != null) request.dimensions = parsed.dimensions;
  const result = await exchange.callModel(model, 'embedding', request);
  const base64 = parsed.encoding_format === 'base64';
  exchange.inputTokens = result.usage.inputTokens;
  exchange.addBusySeconds(result.usage);
  sendJson(exchange.response, 200, {
    object: 'list',
    data: result.embeddings.map((embedding, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? float32Base64(embedding) : embedding,
    })),
    model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  });
  return 200;
}

function float32Base64(values: number[]): string {
  const floats = Float32Array.from(values);
  const bytes = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  if (bytes.readFloatLE(0) !== floats[0] && values.length > 0) {
    // Big-endian host: swap to the little-endian layout clients decode.
    bytes.swap32();
  }
  return bytes.toString('base64');
}
