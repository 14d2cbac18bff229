/**
 * The messages between the head and a worker process (IPC channel, `serialization: 'advanced'` so
 * `Uint8Array`s such as audio travel as bytes). Errors travel as `SerializedError` and are rebuilt
 * with their class on the other side; stream parts likewise.
 *
 * Each side parses what it receives with the schemas below (`parseToWorkerEnvelope`,
 * `parseFromWorkerEnvelope`; each message of a `batch` on its own): a message that does not fit is
 * dropped with one log line and changes nothing, so a confused or compromised worker cannot fail or answer someone else's request with
 * garbage, nor crash the head.
 */
import { z } from 'zod';
import type { SerializedError } from '../../core/errors.js';
import { type ChatRequest, deploymentSpecSchema, FINISH_REASONS } from '../../core/index.js';
import {
  type WorkerCallKind,
  type WireStreamPart,
  callKindSchema,
  chatRequestSchema,
  describeIssue,
  requestSchemaByKind,
  serializedErrorSchema,
  wireStreamPartSchema,
  wireUsageSchema,
} from '../wire/index.js';
import type { StartWorkerOptions } from './transport.js';

/** Head → worker: one message. */
export type ToWorkerMessage =
  | { type: 'start'; options: Pick<StartWorkerOptions, 'spec' | 'workerIndex' | 'gpuIndices'> }
  | { type: 'call'; id: number; kind: WorkerCallKind; request: unknown }
  | { type: 'stream'; id: number; request: ChatRequest }
  | { type: 'abort'; id: number }
  | { type: 'close' };

/** Worker → head: one message. */
export type FromWorkerMessage =
  | { type: 'ready' }
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'warn'; message: string }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'stream-started'; id: number }
  | { type: 'part'; id: number; part: WireStreamPart };

/**
 * On the wire, each way: one message, or the messages of one turn of the sender's event loop in
 * order (`batch`, see `TurnBatcher`).
 */
export type Envelope<Message> = Message | { type: 'batch'; messages: Message[] };
export type FromWorkerEnvelope = Envelope<FromWorkerMessage>;
export type ToWorkerEnvelope = Envelope<ToWorkerMessage>;

/** What to send for one turn's messages (at least one): the message alone, or a batch. */
export function envelopeOf<Message>(messages: Message[]): Envelope<Message> {
  return messages.length === 1 ? messages[0]! : { type: 'batch', messages };
}

const requestId = z.number().int().nonnegative();

const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('start-failed'), error: serializedErrorSchema }),
  z.object({ type: z.literal('warn'), message: z.string().max(10_000) }),
  z.object({ type: z.literal('result'), id: requestId, result: z.unknown().optional() }),
  z.object({ type: z.literal('failed'), id: requestId, error: serializedErrorSchema }),
  z.object({ type: z.literal('stream-started'), id: requestId }),
  z.object({ type: z.literal('part'), id: requestId, part: wireStreamPartSchema }),
]);

const toWorkerSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    options: z.object({
      spec: deploymentSpecSchema,
      workerIndex: z.number().int().nonnegative(),
      gpuIndices: z.array(z.number().int().nonnegative()),
    }),
  }),
  z.object({
    type: z.literal('call'),
    id: requestId,
    kind: callKindSchema,
    request: z.unknown(),
  }),
  z.object({ type: z.literal('stream'), id: requestId, request: chatRequestSchema }),
  z.object({ type: z.literal('abort'), id: requestId }),
  z.object({ type: z.literal('close') }),
]);

/**
 * A parsed message, or the problem with it. `id` is set when an otherwise unusable call or stream
 * message carried a valid request id, so the receiver can fail that request instead of leaving the
 * sender waiting.
 */
export type Parsed<Message> = { ok: true; message: Message } | { ok: false; problem: string; id?: number };

/**
 * Validates a message from a worker; `problem` is one line for the log. The messages of a running
 * stream (several per request, one per few tokens) take a hand-written check of exactly what the
 * schema checks (`isStreamMessage`: the same message passes or fails either way); every other
 * message, and any that fails the check, goes through the schema, which also words the problem.
 */
export function parseFromWorkerMessage(raw: unknown): Parsed<FromWorkerMessage> {
  if (isStreamMessage(raw)) return { ok: true, message: raw };
  const parsed = fromWorkerSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: describeIssue(parsed.error) };
  return { ok: true, message: parsed.data as FromWorkerMessage };
}

/**
 * The messages of a running stream, checked as `fromWorkerSchema` checks them: `stream-started`, and
 * `part` with a text or reasoning delta, a `response-metadata` or a `finish` without warnings (a
 * request id that is a non-negative integer, strings where the schema wants strings, a known finish
 * reason, a usage that `wireUsageSchema` accepts). The schema's part objects are loose, so extra part fields pass
 * either way; the message is used as it came (the schema would copy it, dropping extra fields of the
 * message itself, which nothing reads). Anything else is left to the schema.
 */
function isStreamMessage(raw: unknown): raw is FromWorkerMessage {
  if (!isRecord(raw)) return false;
  const id = raw.id;
  if (!Number.isSafeInteger(id) || (id as number) < 0) return false;
  if (raw.type === 'stream-started') return true;
  if (raw.type !== 'part' || !isRecord(raw.part)) return false;
  const part = raw.part;
  switch (part.type) {
    case 'text-delta':
    case 'reasoning-delta':
      return typeof part.delta === 'string';
    case 'response-metadata':
      return (
        typeof part.requestId === 'string' && (part.modelId === undefined || typeof part.modelId === 'string')
      );
    case 'finish':
      // Once per stream: its usage (busy seconds are charged to virtual keys) by the schema itself.
      return (
        FINISH_REASON_SET.has(part.finishReason) &&
        part.warnings === undefined &&
        wireUsageSchema.safeParse(part.usage).success
      );
    default:
      return false;
  }
}

const FINISH_REASON_SET = new Set<unknown>(FINISH_REASONS);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a message from the head, including a call's request against its kind's schema. */
export function parseToWorkerMessage(raw: unknown): Parsed<ToWorkerMessage> {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    const failure: Parsed<ToWorkerMessage> = { ok: false, problem: describeIssue(parsed.error) };
    const envelope = requestEnvelope.safeParse(raw);
    return envelope.success ? { ...failure, id: envelope.data.id } : failure;
  }
  if (parsed.data.type === 'call') {
    const request = requestSchemaByKind[parsed.data.kind].safeParse(parsed.data.request);
    if (!request.success) {
      return { ok: false, problem: `request.${describeIssue(request.error)}`, id: parsed.data.id };
    }
  }
  return { ok: true, message: parsed.data as ToWorkerMessage };
}

/** A batch holds at most this many messages; a sender puts far fewer in one turn. */
const MAX_BATCH = 10_000;
const batchSchema = z.object({ type: z.literal('batch'), messages: z.array(z.unknown()).max(MAX_BATCH) });

/**
 * Validates what a worker sent — one message or a `batch` — into its messages in order, each parsed
 * on its own: a malformed message in a batch is dropped alone (its request failed where it can be
 * named), the others still count.
 */
export function parseFromWorkerEnvelope(raw: unknown): Parsed<FromWorkerMessage>[] {
  return unwrapBatch(raw, parseFromWorkerMessage);
}

/** The same for what the head sent. */
export function parseToWorkerEnvelope(raw: unknown): Parsed<ToWorkerMessage>[] {
  return unwrapBatch(raw, parseToWorkerMessage);
}

function unwrapBatch<Message>(raw: unknown, parse: (raw: unknown) => Parsed<Message>): Parsed<Message>[] {
  if ((raw as { type?: unknown } | null)?.type !== 'batch') return [parse(raw)];
  // What `batchSchema` accepts, checked without copying the list; the schema words the problem.
  const messages = (raw as { messages?: unknown }).messages;
  if (Array.isArray(messages) && messages.length <= MAX_BATCH) return messages.map(parse);
  const batch = batchSchema.safeParse(raw);
  if (!batch.success) return [{ ok: false, problem: `batch: ${describeIssue(batch.error)}` }];
  return batch.data.messages.map(parse);
}

/** The part of a call or stream message that identifies the request. */
const requestEnvelope = z.object({ type: z.enum(['call', 'stream']), id: requestId });
