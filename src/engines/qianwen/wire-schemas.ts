/**
 * The parts of DashScope response bodies this engine reads (generation, multimodal generation,
 * text embedding), as lenient zod schemas: unknown fields pass, fields we read are nullish.
 */
import { z } from 'zod';

/** Text models answer a string; multimodal (qwen-vl) models a list of `{text}` / `{image}` items. */
const contentSchema = z.union([z.string(), z.array(z.looseObject({ text: z.string().nullish() }))]).nullish();

export const generationResponseSchema = z.looseObject({
  request_id: z.string().nullish(),
  output: z.looseObject({
    /** `result_format: "text"` answers put the text here. */
    text: z.string().nullish(),
    finish_reason: z.string().nullish(),
    choices: z
      .array(
        z.looseObject({
          finish_reason: z.string().nullish(),
          message: z.looseObject({
            role: z.string().nullish(),
            content: contentSchema,
            reasoning_content: z.string().nullish(),
            tool_calls: z
              .array(
                z.looseObject({
                  id: z.string().nullish(),
                  function: z.looseObject({ name: z.string(), arguments: z.string().nullish() }),
                }),
              )
              .nullish(),
          }),
        }),
      )
      .nullish(),
  }),
  usage: z.looseObject({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).nullish(),
});

export type GenerationResponse = z.infer<typeof generationResponseSchema>;

export const embeddingResponseSchema = z.looseObject({
  request_id: z.string().nullish(),
  output: z.looseObject({
    embeddings: z.array(z.looseObject({ text_index: z.number(), embedding: z.array(z.number()) })),
  }),
  usage: z.looseObject({ total_tokens: z.number().nullish() }).nullish(),
});

/** The text of a message's content, whichever shape it came in. */
export function contentText(content: z.infer<typeof contentSchema>): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((item) => item.text ?? '').join('');
}
