/**
 * Control messages between the head and the nodes (registration, heartbeats, start/stop/reconcile,
 * head hello) travel in a signed envelope: `{ body, at, mac }`, where `mac` is the cluster key's
 * HMAC over the subject, the send time and the body. Binding the subject stops a signed heartbeat
 * of one node from being replayed as another's; the time bounds replays to `MAX_AGE_MS`.
 *
 * Without a cluster key the envelope carries no `mac` and nothing is checked (an open cluster, as
 * the head's log says); a receiver with a key drops every message without a valid signature.
 */
import { z } from 'zod';
import type { ClusterKey } from './cluster-key.js';
import { encode } from './nats-protocol.js';
import { type Parsed, parseJson, summarizeIssues } from './nats-messages.js';

/** How old (or how far in the future, for clock skew) a signed message may be. */
const MAX_AGE_MS = 5 * 60_000;

const envelopeSchema = z.object({
  body: z.string().max(4 * 1024 * 1024),
  at: z.number(),
  mac: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

function signedText(subject: string, at: number, body: string): string {
  return `${subject}\n${at}\n${body}`;
}

/** The envelope of `value` for `subject` (signed when there is a key). */
export function signedEnvelope(
  key: ClusterKey | undefined,
  subject: string,
  value: unknown,
): { body: string; at: number; mac?: string } {
  const body = JSON.stringify(value);
  const at = Date.now();
  return key ? { body, at, mac: key.sign(signedText(subject, at, body)) } : { body, at };
}

export function encodeSigned(key: ClusterKey | undefined, subject: string, value: unknown): Uint8Array {
  return encode(signedEnvelope(key, subject, value));
}

/** Opens and parses a signed message; never throws. */
export function decodeSigned<Value>(
  key: ClusterKey | undefined,
  subject: string,
  data: Uint8Array,
  schema: z.ZodType<Value>,
): Parsed<Value> {
  const json = parseJson(data);
  if (!json.ok) return json;
  const envelope = envelopeSchema.safeParse(json.value);
  if (!envelope.success)
    return { ok: false, reason: `not a byzerllm envelope (${summarizeIssues(envelope.error)})` };
  const { body, at, mac } = envelope.data;
  if (key) {
    if (!mac) return { ok: false, reason: 'unsigned: the sender does not hold the cluster key' };
    if (!key.verify(signedText(subject, at, body), mac)) {
      return { ok: false, reason: 'bad signature: the sender holds another cluster key' };
    }
    if (Math.abs(Date.now() - at) > MAX_AGE_MS)
      return { ok: false, reason: 'signed too long ago (a replay?)' };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: summarizeIssues(parsed.error) };
}
