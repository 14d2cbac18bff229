/**
 * Training rows in the formats Byzer-LLM users have, read into one shape.
 *
 * - `alpaca`: `{instruction, input?, output, system?, history?: [[question, answer], …]}`
 * - `sharegpt`: `{conversations: [{from: human|user|gpt|assistant|system, value}]}`, and Byzer-LLM's
 *   own `{conversation: [{human, assistant}], system?}`
 * - `messages`: OpenAI `{messages: [{role: system|user|assistant, content}]}`
 * - `text`: `{text}` (pretraining; plain-text files are read as one row per file)
 *
 * `auto` picks the format of each row by the field it declares (`messages`, `conversations`,
 * `conversation`, `instruction`, `text`). A row that does not fit fails the whole job before any work
 * starts, with an error naming the row (1-based) and the field.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';

export const DATA_FORMATS = ['auto', 'alpaca', 'sharegpt', 'messages', 'text'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One training example: a conversation (finetuning) or a text (pretraining). */
export type TrainingExample = { kind: 'chat'; messages: ChatTurn[] } | { kind: 'text'; text: string };

const text = z.string();
const alpacaSchema = z.object({
  instruction: text,
  input: text.optional().nullable(),
  output: text,
  system: text.optional().nullable(),
  history: z
    .array(z.tuple([text, text]))
    .optional()
    .nullable(),
});
const sharegptSchema = z.object({
  system: text.optional().nullable(),
  conversations: z
    .array(z.object({ from: z.enum(['human', 'user', 'gpt', 'assistant', 'system']), value: text }))
    .min(1),
});
const byzerConversationSchema = z.object({
  system: text.optional().nullable(),
  conversation: z.array(z.object({ human: text, assistant: text })).min(1),
});
const messagesSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: text })).min(1),
});
const textSchema = z.object({ text: z.string().min(1) });

function detect(row: Record<string, unknown>): Exclude<DataFormat, 'auto'> | 'conversation' | undefined {
  if ('messages' in row) return 'messages';
  if ('conversations' in row) return 'sharegpt';
  if ('conversation' in row) return 'conversation';
  if ('instruction' in row) return 'alpaca';
  if ('text' in row) return 'text';
  return undefined;
}

function parseWith<T>(schema: z.ZodType<T>, row: unknown, rowNumber: number, format: string): T {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : '(row)';
  throw new InvalidArgumentError(
    `data row ${rowNumber}: field ${field}: ${issue.message} (${format} format)`,
  );
}

/** One row → one example; `rowNumber` is 1-based for messages. */
export function readExample(row: unknown, rowNumber: number, format: DataFormat): TrainingExample {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new InvalidArgumentError(
      `data row ${rowNumber}: must be a JSON object, got ${Array.isArray(row) ? 'an array' : typeof row}`,
    );
  }
  const chosen = format === 'auto' ? detect(row as Record<string, unknown>) : format;
  switch (chosen) {
    case undefined:
      throw new InvalidArgumentError(
        `data row ${rowNumber}: no known field; expected one of messages, conversations, conversation, instruction, text (fields: ${Object.keys(row).join(', ') || 'none'})`,
      );
    case 'alpaca': {
      const value = parseWith(alpacaSchema, row, rowNumber, 'alpaca');
      const messages: ChatTurn[] = value.system ? [{ role: 'system', content: value.system }] : [];
      for (const [question, answer] of value.history ?? []) {
        messages.push({ role: 'user', content: question }, { role: 'assistant', content: answer });
      }
      const prompt = value.input ? `${value.instruction}\n${value.input}` : value.instruction;
      messages.push({ role: 'user', content: prompt }, { role: 'assistant', content: value.output });
      return checked({ kind: 'chat', messages }, rowNumber);
    }
    case 'sharegpt': {
      const value = parseWith(sharegptSchema, row, rowNumber, 'sharegpt');
      const messages: ChatTurn[] = value.system ? [{ role: 'system', content: value.system }] : [];
      for (const turn of value.conversations) {
        const role =
          turn.from === 'human' || turn.from === 'user'
            ? 'user'
            : turn.from === 'system'
              ? 'system'
              : 'assistant';
        messages.push({ role, content: turn.value });
      }
      return checked({ kind: 'chat', messages }, rowNumber);
    }
    case 'conversation': {
      const value = parseWith(byzerConversationSchema, row, rowNumber, 'conversation');
      const messages: ChatTurn[] = value.system ? [{ role: 'system', content: value.system }] : [];
      for (const turn of value.conversation) {
        messages.push({ role: 'user', content: turn.human }, { role: 'assistant', content: turn.assistant });
      }
      return checked({ kind: 'chat', messages }, rowNumber);
    }
    case 'messages':
      return checked(
        { kind: 'chat', messages: parseWith(messagesSchema, row, rowNumber, 'messages').messages },
        rowNumber,
      );
    case 'text':
      return { kind: 'text', text: parseWith(textSchema, row, rowNumber, 'text').text };
  }
}

function checked(example: TrainingExample & { kind: 'chat' }, rowNumber: number): TrainingExample {
  if (!example.messages.some((message) => message.role === 'assistant')) {
    throw new InvalidArgumentError(`data row ${rowNumber}: the conversation has no assistant turn to learn`);
  }
  return example;
}

/**
 * Reads JSONL text (one JSON object per line; blank lines skipped) into examples; a line that is not
 * JSON is an error naming the line.
 */
export function readJsonlExamples(content: string, format: DataFormat): TrainingExample[] {
  const examples: TrainingExample[] = [];
  const lines = content.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`data row ${index + 1}: not valid JSON`);
    }
    examples.push(readExample(row, index + 1, format));
  }
  if (examples.length === 0) throw new InvalidArgumentError('the data has no rows');
  return examples;
}

/** Rows from another layer (SQL tables): the same rules, row numbers from 1. */
export function readRowExamples(rows: readonly unknown[], format: DataFormat): TrainingExample[] {
  if (rows.length === 0) throw new InvalidArgumentError('the data has no rows');
  return rows.map((row, index) => readExample(row, index + 1, format));
}
