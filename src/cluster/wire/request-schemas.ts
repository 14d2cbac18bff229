/**
 * zod schemas of the requests a worker answers, one per call kind (`WorkerCallMap`), checked where a
 * request enters from another process: admin API bodies and worker IPC messages. They check the
 * shape engines rely on (required fields and their types, known optional fields' types) and let
 * unknown fields through, as the engines ignore or warn about them.
 */
import { z } from 'zod';
import { TIMESTAMP_GRANULARITIES } from '../../core/index.js';
import type { WorkerCallKind } from './call-kinds.js';

const extra = z.record(z.string(), z.unknown()).optional();

const contentPartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }).loose(),
  z
    .object({ type: z.literal('image'), url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() })
    .loose(),
  z.object({ type: z.literal('audio'), url: z.string() }).loose(),
]);

const toolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string() }).loose();

const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }).loose(),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(contentPartSchema)]) }).loose(),
  z
    .object({
      role: z.literal('assistant'),
      content: z.string(),
      toolCalls: z.array(toolCallSchema).optional(),
      prefix: z.boolean().optional(),
    })
    .loose(),
  z.object({ role: z.literal('tool'), toolCallId: z.string(), content: z.string() }).loose(),
]);

export const chatRequestSchema = z
  .object({
    messages: z.array(chatMessageSchema),
    maxTokens: z.number().optional(),
    temperature: z.number().optional(),
    topP: z.number().optional(),
    topK: z.number().optional(),
    stop: z.array(z.string()).optional(),
    seed: z.number().optional(),
    presencePenalty: z.number().optional(),
    frequencyPenalty: z.number().optional(),
    tools: z
      .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()) }).loose())
      .optional(),
    toolChoice: z.union([z.enum(['auto', 'none', 'required']), z.object({ name: z.string() })]).optional(),
    responseFormat: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('text') }).loose(),
        z.object({ type: z.literal('json'), schema: z.record(z.string(), z.unknown()).optional() }).loose(),
      ])
      .optional(),
    includeUsage: z.boolean().optional(),
    extra,
    prompt: z.string().optional(),
    task: z.enum(['speech', 'image', 'transcription']).optional(),
  })
  .loose();

export const requestSchemaByKind: Record<WorkerCallKind, z.ZodType> = {
  chat: chatRequestSchema,
  tokenize: z.object({ text: z.string() }).loose(),
  apply_chat_template: z.object({ messages: z.array(chatMessageSchema) }).loose(),
  embedding: z
    .object({ values: z.array(z.string()), dimensions: z.number().int().positive().optional(), extra })
    .loose(),
  rerank: z
    .object({
      query: z.string(),
      documents: z.array(z.string()),
      topN: z.number().int().positive().optional(),
    })
    .loose(),
  speech: z
    .object({
      input: z.string(),
      voice: z.string().optional(),
      responseFormat: z.string().optional(),
      speed: z.number().optional(),
      extra,
    })
    .loose(),
  transcription: z
    .object({
      audio: z.instanceof(Uint8Array),
      mediaType: z.string(),
      language: z.string().optional(),
      timestamps: z.boolean().optional(),
      timestampGranularities: z.array(z.enum(TIMESTAMP_GRANULARITIES)).optional(),
      extra,
    })
    .loose(),
  image: z
    .object({
      prompt: z.string(),
      size: z.string().optional(),
      quality: z.string().optional(),
      n: z.number().int().positive().optional(),
      extra,
    })
    .loose(),
  meta: z.object({}).loose(),
};

/** One line naming the first problem: `messages.0.content: Invalid input…`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length > 0 ? issue.path.join('.') : '(the whole value)';
  return `${where}: ${issue.message}`;
}
