/**
 * The parts of Gemini API (`generativelanguage.googleapis.com`) bodies this engine reads, as loose
 * zod objects, and the finish-reason mapping.
 */
import { z } from 'zod';
import type { FinishReason } from '../../core/chat-model.js';

const partSchema = z.looseObject({
  text: z.string().nullish(),
  /** Thought summaries (`includeThoughts`) come as text parts flagged `thought: true`. */
  thought: z.boolean().nullish(),
  functionCall: z
    .looseObject({ id: z.string().nullish(), name: z.string(), args: z.unknown().optional() })
    .nullish(),
});

export const generateContentResponseSchema = z.looseObject({
  responseId: z.string().nullish(),
  modelVersion: z.string().nullish(),
  candidates: z
    .array(
      z.looseObject({
        content: z.looseObject({ parts: z.array(partSchema).nullish() }).nullish(),
        finishReason: z.string().nullish(),
      }),
    )
    .nullish(),
  usageMetadata: z
    .looseObject({
      promptTokenCount: z.number().nullish(),
      candidatesTokenCount: z.number().nullish(),
      thoughtsTokenCount: z.number().nullish(),
    })
    .nullish(),
  promptFeedback: z.looseObject({ blockReason: z.string().nullish() }).nullish(),
});

export type GenerateContentResponse = z.infer<typeof generateContentResponseSchema>;

export const batchEmbedResponseSchema = z.looseObject({
  embeddings: z.array(z.looseObject({ values: z.array(z.number()) })),
});

/** Output tokens include thinking tokens, which Gemini counts apart. */
export function toUsage(response: GenerateContentResponse): { inputTokens: number; outputTokens: number } {
  const usage = response.usageMetadata;
  return {
    inputTokens: usage?.promptTokenCount ?? 0,
    outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
  };
}

/** Gemini `finishReason` → protocol finish reason (`STOP` with function calls is `tool-calls`). */
export function mapFinishReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'STOP':
      return hasToolCalls ? 'tool-calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content-filter';
    case 'MALFORMED_FUNCTION_CALL':
      return 'error';
    case null:
    case undefined:
    case 'FINISH_REASON_UNSPECIFIED':
      return 'unknown';
    default:
      return 'other';
  }
}
