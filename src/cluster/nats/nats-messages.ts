/**
 * The zod schema of every message byzerllm reads from NATS, and the one way to read them.
 *
 * NATS is a shared bus: anything may arrive on a subject. Each receiver parses with the subject's
 * schema at the edge; an invalid message is dropped with one log line (answered with an
 * `invalid_argument` error when it expects a reply) and never reaches the code that changes state.
 * Control messages between the head and the nodes are also signed with the cluster key when there
 * is one (`signed-envelope.ts`).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { InvalidArgumentError } from '../../core/index.js';
import {
  callKindSchema,
  failureReply,
  serializedErrorSchema,
  ticketSchema,
  wireStreamPartSchema,
} from '../wire/index.js';
import { decode, encode } from './nats-protocol.js';

/** Node ids are NATS subject tokens and KV keys: letters, digits, `_` and `-`. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const nodeIdSchema = z.string().regex(NODE_ID_PATTERN);
/** Request ids and worker ids are single subject tokens too. */
const tokenSchema = z.string().regex(/^[A-Za-z0-9_-]{1,256}$/);
/**
 * Stream inboxes are `_INBOX.…` subjects without wildcards: a caller cannot make the head or a node
 * publish stream parts on a byzerllm subject (heartbeats, node commands) on its behalf.
 */
const inboxSchema = z
  .string()
  .regex(/^_INBOX(\.[A-Za-z0-9_-]+)+$/)
  .max(512);
const jsonObjectSchema = z.record(z.string(), z.unknown());

export const nodeResourcesSchema = z.object({
  cpus: z.number().positive().max(100_000),
  memoryBytes: z.number().nonnegative(),
  gpus: z.array(
    z.object({ index: z.number().int().min(0), name: z.string(), memoryMiB: z.number().nonnegative() }),
  ),
});

/** What a node advertises in its heartbeats, its registration and its KV record. */
export const nodeAdvertSchema = z.object({
  nodeId: nodeIdSchema,
  /** Random per node process: two processes with one node id are told apart by it. */
  instanceId: tokenSchema,
  /** The machine, for messages about duplicate node ids. */
  hostname: z.string().max(256),
  resources: nodeResourcesSchema,
  labels: z.record(z.string(), z.string()),
  pid: z.number().int().nonnegative(),
  startedAt: z.string().max(64),
  workers: z.number().int().nonnegative(),
});
export type NodeAdvert = z.infer<typeof nodeAdvertSchema>;

/** Head → node: start one worker. The spec's secrets travel sealed (sealed-spec.ts). */
export const startWorkerMessageSchema = z.object({
  spec: jsonObjectSchema,
  sealedSecrets: z.string().optional(),
  workerIndex: z.number().int().min(0),
  gpuIndices: z.array(z.number().int().min(0)),
  headId: z.string().min(1).max(256),
});
/** Node → head: the answer to a start. */
export const startedWorkerSchema = z.object({
  workerId: tokenSchema,
  pid: z.number().int().nonnegative().optional(),
  warnings: z.array(z.string()),
});
export const stopWorkerMessageSchema = z.object({ workerId: tokenSchema });
export const reconcileMessageSchema = z.object({ keep: z.array(tokenSchema) });
export const headHelloSchema = z.object({ headId: z.string().min(1).max(256) });

/** Head → worker: a non-stream call. */
export const workerCallMessageSchema = z.object({
  requestId: tokenSchema,
  kind: callKindSchema,
  request: jsonObjectSchema,
});
/** Head → worker, or client → head: start a stream whose parts go to `inbox`. */
export const streamRequestMessageSchema = z.object({
  requestId: tokenSchema,
  inbox: inboxSchema,
  request: jsonObjectSchema,
});
export const streamAckSchema = z.object({ acknowledged: z.number().int().nonnegative() });
/** Producer → consumer: one stream part. */
export const streamMessageSchema = z.object({
  sequence: z.number().int().nonnegative(),
  part: wireStreamPartSchema,
});

/** Every reply: a result or an error. */
export const replySchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: serializedErrorSchema }),
]);

/** A gateway request's access ticket (`ClusterCallOptions.ticket`), charged on the head's slots. */
/** Client → head: one schema per admin operation (one service endpoint each). */
const nameSchema = z.string().min(1).max(256);
export const adminMessageSchemas = {
  deploy: z.object({ spec: jsonObjectSchema }),
  undeploy: z.object({ name: nameSchema, force: z.boolean().optional() }),
  list: z.object({}).passthrough(),
  stat: z.object({ name: nameSchema }),
  meta: z.object({ name: nameSchema }),
  status: z.object({}).passthrough(),
  call: z.object({
    requestId: tokenSchema,
    name: nameSchema,
    kind: callKindSchema,
    request: jsonObjectSchema,
    ticket: ticketSchema.optional(),
  }),
  stream: streamRequestMessageSchema.extend({ name: nameSchema, ticket: ticketSchema.optional() }),
} as const;
export type AdminOperation = keyof typeof adminMessageSchemas;

/**
 * Client → head: one Byzer storage request (`byzerllm.storage.<operation>`). The body is JSON here;
 * the store validates it with the operation's own schema (src/storage/storage-protocol.ts).
 */
export const storageMessageSchema = z.object({ requestId: tokenSchema, body: jsonObjectSchema });
/** Storage operation names are single subject tokens of letters (`createTable`, `query`, …). */
export const STORAGE_OPERATION_PATTERN = /^[A-Za-z]{1,64}$/;
export const ADMIN_OPERATIONS = Object.keys(adminMessageSchemas) as AdminOperation[];

export type Parsed<Value> = { ok: true; value: Value } | { ok: false; reason: string };

/** JSON bytes (binary values revived), or why not; never throws. */
export function parseJson(data: Uint8Array): Parsed<unknown> {
  try {
    return { ok: true, value: decode<unknown>(data) };
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
}

/** Parses JSON bytes with a schema; never throws. */
export function parseWire<Value>(schema: z.ZodType<Value>, data: Uint8Array): Parsed<Value> {
  const json = parseJson(data);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: summarizeIssues(parsed.error) };
}

/** The first issues of a zod error, one short line. */
export function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ')
    .slice(0, 300);
}

/** What `dropInvalid` needs of a message (core and services messages both fit). */
export interface ReceivedMessage {
  subject: string;
  reply?: string | undefined;
  respond(data: Uint8Array): boolean;
}

/**
 * Drops an invalid message: one log line naming the subject and why; a request gets an
 * `invalid_argument` reply so its sender does not wait for a timeout.
 */
export function dropInvalid(message: ReceivedMessage, reason: string, log: (line: string) => void): void {
  log(`dropped an invalid message on ${message.subject}: ${reason}`);
  if (!message.reply) return;
  const error = new InvalidArgumentError(`invalid message on ${message.subject}: ${reason}`);
  message.respond(encode(failureReply(error)));
}

/**
 * Subscribes to a subject whose messages are read with `parse`: a message that parses is handled,
 * any other is dropped with one log line (and an `invalid_argument` reply when it expects one).
 */
export function subscribeParsed<Value>(
  connection: NatsConnection,
  subject: string,
  parse: (message: Msg) => Parsed<Value>,
  handle: (value: Value, message: Msg) => void,
  log: (line: string) => void,
): Subscription {
  return connection.subscribe(subject, {
    callback: (_error, message) => {
      const parsed = parse(message);
      if (parsed.ok) handle(parsed.value, message);
      else dropInvalid(message, parsed.reason, log);
    },
  });
}
