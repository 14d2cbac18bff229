/**
 * The parts of Anthropic Messages API bodies this engine reads (loose zod objects: new fields pass),
 * and the stop-reason mapping.
 */
import { z } from 'zod';
import type { FinishReason } from '../../../core/chat-model.js';

const usageSchema = z
  .looseObject({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() })
  .nullish();

const contentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().nullish(),
  thinking: z.string().nullish(),
  id: z.string().nullish(),
  name: z.string().nullish(),
  input: z.unknown().optional(),
});

export const messageSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  content: z.array(contentBlockSchema),
  stop_reason: z.string().nullish(),
  usage: usageSchema,
});

/** One SSE event's data; which fields are present depends on `type`. */
export const streamEventSchema = z.looseObject({
  type: z.string(),
  message: messageSchema.partial().nullish(),
  index: z.number().nullish(),
  content_block: contentBlockSchema.nullish(),
  delta: z
    .looseObject({
      type: z.string().nullish(),
      text: z.string().nullish(),
      thinking: z.string().nullish(),
      partial_json: z.string().nullish(),
      stop_reason: z.string().nullish(),
    })
    .nullish(),
  usage: usageSchema,
  error: z.looseObject({ type: z.string().nullish(), message: z.string().nullish() }).nullish(),
});

export type StreamEvent = z.infer<typeof streamEventSchema>;

/** Anthropic `stop_reason` → protocol finish reason. */
export function mapStopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    case null:
    case undefined:
      return 'unknown';
    default:
      return 'other';
  }
}
