/**
 * Byzer-LLM's `LLMRequest` (byzer-spec §3.10), the argument of the older `chat(model, request)` and of
 * `emb(model, request)`: `{ instruction, max_length, top_p, temperature }`. Checked with zod, since
 * ported code passes it as a plain object.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import type { LlmConfig } from './llm-config.js';

export const llmRequestSchema = z
  .object({
    instruction: z.union([z.string(), z.array(z.string())]),
    embedding: z.boolean().optional(),
    max_length: z.number().int().positive().optional(),
    top_p: z.number().optional(),
    temperature: z.number().optional(),
  })
  .loose();

export type LLMRequest = z.input<typeof llmRequestSchema>;
/** The schema under Byzer-LLM's class name: `LLMRequest.parse({ instruction: 'hello' })`. */
export const LLMRequest = llmRequestSchema;

/** A string, a list of strings, or an `LLMRequest`: the instructions, one request each. */
export function parseLlmRequest(request: string | string[] | LLMRequest): {
  instructions: string[];
  llmConfig: LlmConfig;
} {
  if (typeof request === 'string') return { instructions: [request], llmConfig: {} };
  if (Array.isArray(request)) return { instructions: [...request], llmConfig: {} };
  const parsed = llmRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new InvalidArgumentError(`invalid LLMRequest: ${z.prettifyError(parsed.error)}`);
  }
  const { instruction, max_length, top_p, temperature } = parsed.data;
  const llmConfig: LlmConfig = {};
  if (max_length !== undefined) llmConfig.max_length = max_length;
  if (top_p !== undefined) llmConfig.top_p = top_p;
  if (temperature !== undefined) llmConfig.temperature = temperature;
  return { instructions: typeof instruction === 'string' ? [instruction] : [...instruction], llmConfig };
}
