/**
 * Stream parts on the cluster's wires. Every part but `error` is plain data; an `error` part carries
 * a `SerializedError` (see `errors.ts`). `encodeStreamPart`/`decodeStreamPart` are the one mapping
 * for the admin API's NDJSON, NATS stream messages and worker IPC; binary bytes in `audio-delta`
 * parts are left to the carrier (`encodeBinary` on JSON carriers).
 */
import { z } from 'zod';
import type { SerializedError } from '../../core/errors.js';
import { FINISH_REASONS, type StreamPart } from '../../core/index.js';
import { decodeError, encodeError, serializedErrorSchema } from './errors.js';

export type WireStreamPart =
  | Exclude<StreamPart, { type: 'error' }>
  | { type: 'error'; error: SerializedError };

export function encodeStreamPart(part: StreamPart): WireStreamPart {
  return part.type === 'error' ? { type: 'error', error: encodeError(part.error) } : part;
}

export function decodeStreamPart(part: WireStreamPart): StreamPart {
  return part.type === 'error' ? { type: 'error', error: decodeError(part.error) } : part;
}

/**
 * A local worker's busy seconds in a usage (`Usage.cpuSeconds` / `gpuSeconds`), which the head
 * charges to a virtual key, so they must be finite and not negative. The one check of them: finish
 * parts (below) and call results (`usageOf`, slot-charge.ts) both use it.
 */
export const wireBusySecondsSchema = z.looseObject({
  cpuSeconds: z.number().min(0).finite().optional(),
  gpuSeconds: z.number().min(0).finite().optional(),
});

/** A finish part's usage: token counts and busy seconds. */
export const wireUsageSchema = wireBusySecondsSchema.extend({
  inputTokens: z.number(),
  outputTokens: z.number(),
});

/**
 * The stream parts of the model protocol (core/chat-model.ts), errors serialised. Loose objects: a
 * field this version does not know passes through as it would in-process.
 */
export const wireStreamPartSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('response-metadata'),
    requestId: z.string(),
    modelId: z.string().optional(),
  }),
  z.looseObject({ type: z.literal('text-delta'), delta: z.string() }),
  z.looseObject({ type: z.literal('reasoning-delta'), delta: z.string() }),
  z.looseObject({
    type: z.literal('tool-call'),
    toolCall: z.looseObject({ id: z.string(), name: z.string(), arguments: z.string() }),
  }),
  z.looseObject({
    type: z.literal('audio-delta'),
    data: z.instanceof(Uint8Array),
    mediaType: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal('finish'),
    finishReason: z.enum(FINISH_REASONS),
    usage: wireUsageSchema,
    warnings: z.array(z.looseObject({ type: z.string() })).optional(),
  }),
  z.object({ type: z.literal('error'), error: serializedErrorSchema }),
]);
