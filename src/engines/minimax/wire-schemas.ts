/** The parts of MiniMax `chatcompletion_pro` bodies this engine reads, as lenient zod schemas. */
import { z } from 'zod';

export const baseRespSchema = z.looseObject({ status_code: z.number(), status_msg: z.string().nullish() });

export const chatResponseSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  reply: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullish(),
        messages: z
          .array(z.looseObject({ sender_type: z.string().nullish(), text: z.string().nullish() }))
          .nullish(),
      }),
    )
    .nullish(),
  usage: z.looseObject({ total_tokens: z.number().nullish() }).nullish(),
  base_resp: baseRespSchema.nullish(),
});

export type MiniMaxChatResponse = z.infer<typeof chatResponseSchema>;
