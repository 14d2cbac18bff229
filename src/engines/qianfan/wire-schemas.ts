/** The parts of Baidu Qianfan (ERNIE) bodies this engine reads, as lenient zod schemas. */
import { z } from 'zod';

export const tokenResponseSchema = z.looseObject({
  access_token: z.string(),
  /** Seconds; Baidu issues 30-day tokens. */
  expires_in: z.number().nullish(),
});

const usageSchema = z
  .looseObject({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() })
  .nullish();

/** One non-stream answer, or one stream event (`is_end` marks the last). */
export const chatResponseSchema = z.looseObject({
  id: z.string().nullish(),
  result: z.string().nullish(),
  is_end: z.boolean().nullish(),
  finish_reason: z.string().nullish(),
  usage: usageSchema,
});

export const embeddingResponseSchema = z.looseObject({
  id: z.string().nullish(),
  data: z.array(z.looseObject({ index: z.number().nullish(), embedding: z.array(z.number()) })),
  usage: usageSchema,
});

/** Qianfan failures: `{error_code, error_msg}` (in 200 answers) or OAuth's `{error, error_description}`. */
export const errorBodySchema = z.looseObject({
  error_code: z.union([z.number(), z.string()]).nullish(),
  error_msg: z.string().nullish(),
  error: z.string().nullish(),
  error_description: z.string().nullish(),
});
