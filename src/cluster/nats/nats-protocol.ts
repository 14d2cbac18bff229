/**
 * Subjects and message shapes of byzerllm over NATS. NATS carries everything (no protocol of our own
 * on sockets): calls are request/reply, streams publish parts to a per-request inbox, cluster state
 * lives in JetStream KV. Payloads are JSON; binary values travel as `{ $binary: base64 }`.
 *
 * Subjects (all under the `byzerllm.` prefix, `<…>` are tokens):
 * - `byzerllm.admin.<operation>`          ClusterApi operations served by the head (queue group `head`)
 * - `byzerllm.storage.<operation>`        Byzer storage operations on the head's store (`StorageHost`)
 * - `byzerllm.node.<nodeId>.start`        start a worker on that node
 * - `byzerllm.node.<nodeId>.stop`         stop a worker on that node
 * - `byzerllm.node.<nodeId>.ping`         is a live process already this node? (duplicate ids)
 * - `byzerllm.node.<nodeId>.reconcile`    keep only the listed workers (a node back from a partition)
 * - `byzerllm.heartbeat.<nodeId>`         node liveness, published every heartbeat interval
 * - `byzerllm.head.hello`                 a head started; nodes drop workers of earlier heads
 * - `byzerllm.worker.<workerId>.call`     a non-stream call to a worker
 * - `byzerllm.worker.<workerId>.stream`   start a stream; parts go to the request's `inbox`
 * - `byzerllm.cancel.<requestId>`         cancels a call or stream
 * - `<inbox>.ack`                         stream flow control: the consumer acknowledges parts
 */
import { decodeJsonBytes, encodeJsonBytes } from '../wire/index.js';

export type { Reply } from '../wire/index.js';

export const SUBJECT_PREFIX = 'byzerllm';
export const KV_DEPLOYMENTS = 'byzerllm_deployments';
export const KV_NODES = 'byzerllm_nodes';
/** Where each deployment's workers run, written by the head (one key per deployment). */
export const KV_PLACEMENT = 'byzerllm_placement';

/** A node that misses heartbeats for this long is lost. */
export const HEARTBEAT_INTERVAL_MS = 500;
export const NODE_TIMEOUT_MS = 3_000;
/** Parts a stream producer may send before the consumer acknowledges them. */
export const STREAM_WINDOW = 64;

export const subjects = {
  admin: (operation: string) => `${SUBJECT_PREFIX}.admin.${operation}`,
  storage: (operation: string) => `${SUBJECT_PREFIX}.storage.${operation}`,
  nodeStart: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.start`,
  nodeStop: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.stop`,
  /** A node process asks whether another live process already answers for its id. */
  nodePing: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.ping`,
  /** The head lists the workers it places on a node; the node stops any other (after a partition). */
  nodeReconcile: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.reconcile`,
  heartbeat: (nodeId: string) => `${SUBJECT_PREFIX}.heartbeat.${nodeId}`,
  heartbeatAll: `${SUBJECT_PREFIX}.heartbeat.*`,
  /** A head announcing itself; nodes drop workers placed by an earlier head. */
  headHello: `${SUBJECT_PREFIX}.head.hello`,
  workerCall: (workerId: string) => `${SUBJECT_PREFIX}.worker.${workerId}.call`,
  workerStream: (workerId: string) => `${SUBJECT_PREFIX}.worker.${workerId}.stream`,
  cancel: (requestId: string) => `${SUBJECT_PREFIX}.cancel.${requestId}`,
};

/** NATS subject tokens cannot hold `.`, `*`, `>` or spaces: worker ids are made of safe characters. */
export function subjectToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * A KV key for any name, collision-free and reversible: letters, digits, `_` and `-` stay as they
 * are, every other byte becomes `=XX` (hex). `a.b` → `a=2Eb`, `a_b` → `a_b`: two names never share
 * a key (which `subjectToken` could not promise), and plain names stay readable.
 */
export function kvKey(name: string): string {
  let key = '';
  for (const character of name) {
    if (/^[A-Za-z0-9_-]$/.test(character)) key += character;
    else
      for (const byte of Buffer.from(character, 'utf8'))
        key += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return key;
}

/** The name `kvKey` encoded. */
export function nameFromKvKey(key: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < key.length; index++) {
    if (key[index] === '=') {
      bytes.push(Number.parseInt(key.slice(index + 1, index + 3), 16));
      index += 2;
    } else bytes.push(key.charCodeAt(index));
  }
  return Buffer.from(bytes).toString('utf8');
}

export function encode(value: unknown): Uint8Array {
  return encodeJsonBytes(value);
}

export function decode<Value>(data: Uint8Array): Value {
  return decodeJsonBytes(data) as Value;
}

/** Stream messages: a part, or the producer's end (after `finish`/`error` parts nothing follows). */
export interface StreamMessage {
  sequence: number;
  part: unknown;
}
