/**
 * The parts of OpenAI-shaped response bodies this engine reads, as zod schemas.
 *
 * Deliberately lenient: every object is loose (unknown fields pass), every field we read is
 * nullish, because OpenAI-compatible vendors (DeepSeek, Kimi, SiliconFlow, Ollama, vLLM) differ in
 * what they omit or send as `null`. Only a shape we cannot use at all fails validation.
 */
import { z } from 'zod';

const usageSchema = z
  .looseObject({
    prompt_tokens: z.number().nullish(),
    completion_tokens: z.number().nullish(),
  })
  .nullish();

/** Some vendors (Ollama) send tool arguments as an object instead of JSON text. */
const toolArgumentsSchema = z.union([z.string(), z.record(z.string(), z.unknown())]).nullish();

/** The text of a message or of a stream delta. */
const textFields = {
  content: z.string().nullish(),
  /** DeepSeek, Kimi, SiliconFlow, vLLM; OpenRouter and newer vLLM say `reasoning`. */
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
};

export const chatCompletionSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z.array(
    z.looseObject({
      message: z.looseObject({
        ...textFields,
        tool_calls: z
          .array(
            z.looseObject({
              id: z.string().nullish(),
              function: z.looseObject({ name: z.string(), arguments: toolArgumentsSchema }),
            }),
          )
          .nullish(),
      }),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: usageSchema,
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

/** An `error` object inside a 2xx stream (OpenAI, vLLM and proxies report mid-stream failures so). */
const streamErrorSchema = z.looseObject({ message: z.string().nullish() });

export const chatCompletionChunkSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        delta: z
          .looseObject({
            ...textFields,
            tool_calls: z
              .array(
                z.looseObject({
                  index: z.number().nullish(),
                  id: z.string().nullish(),
                  function: z
                    .looseObject({ name: z.string().nullish(), arguments: toolArgumentsSchema })
                    .nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: usageSchema,
  error: z.union([streamErrorSchema, z.string()]).nullish(),
});
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;

export const embeddingResponseSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      index: z.number().nullish(),
      /** Float array; base64 little-endian float32 from vendors that ignore `encoding_format`. */
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  usage: z.looseObject({ prompt_tokens: z.number().nullish() }).nullish(),
});
export type EmbeddingResponse = z.infer<typeof embeddingResponseSchema>;

/** Normalised token counts (absent counts are 0). */
export function toUsage(usage: z.infer<typeof usageSchema>): { inputTokens: number; outputTokens: number } {
  return { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 };
}

/** `verbose_json` answer of `/audio/transcriptions` (plain `json` has only `text`). */
export const transcriptionResponseSchema = z.looseObject({
  text: z.string(),
  language: z.string().nullish(),
  duration: z.number().nullish(),
  segments: z.array(z.looseObject({ start: z.number(), end: z.number(), text: z.string() })).nullish(),
  words: z.array(z.looseObject({ start: z.number(), end: z.number(), word: z.string() })).nullish(),
});

/** `/images/generations` answer with `response_format: "b64_json"`. */
export const imageResponseSchema = z.looseObject({
  data: z.array(z.looseObject({ b64_json: z.string(), revised_prompt: z.string().nullish() })),
});
