/**
 * Streams over NATS, both directions: the producer publishes parts to the consumer's inbox at most
 * `STREAM_WINDOW` ahead of its acknowledgements; the consumer acknowledges every quarter window and
 * cancels with a message on `byzerllm.cancel.<requestId>`.
 *
 * Faults: parts cannot be replayed, so a stream whose connection drops ends on both sides — the
 * consumer with a retryable `worker_failed` error part, the producer by stopping its engine call.
 * A producer whose consumer stops acknowledging (it died) gives up after `STREAM_ACK_TIMEOUT_MS`
 * instead of holding its worker slot forever. Before the first part a stream is just a request, so
 * its start is sent again after a reconnect like any call.
 */
import { createInbox, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import {
  AbortedError,
  type ByzerLLMError,
  type StreamPart,
  toByzerLLMError,
  WorkerFailedError,
} from '../../core/index.js';
import { ConnectionLostError, faultTimeoutMs, watchConnection } from './connection-watch.js';
import { parseWire, streamAckSchema, streamMessageSchema } from './nats-messages.js';
import { encode, type Reply, STREAM_WINDOW, subjects } from './nats-protocol.js';
import { decodeStreamPart, encodeStreamPart, failureReply, type WireStreamPart } from '../wire/index.js';
import { natsRequest, type ResendPolicy, requestWithResend } from './nats-request.js';

/** How long a producer with a full window waits for the consumer's next acknowledgement. */
export const STREAM_ACK_TIMEOUT_MS = 60_000;
/** How long the producer may take to accept a stream (the engine's call starts before it answers). */
const STREAM_START_TIMEOUT_MS = 60_000;

/** What a stream request carries besides the caller's payload. */
export interface StreamEnvelope {
  requestId: string;
  inbox: string;
}

/**
 * Producer side: starts the stream, accepts (or refuses) the request, then publishes every part.
 */
export async function pumpStream(
  connection: NatsConnection,
  envelope: StreamEnvelope,
  signal: AbortSignal,
  start: () => Promise<AsyncIterable<StreamPart>>,
  accept: (reply: Reply<null>) => void,
): Promise<void> {
  let parts: AsyncIterable<StreamPart>;
  try {
    parts = await start();
  } catch (error) {
    accept(failureReply(error));
    return;
  }
  let acknowledged = 0;
  let wake: (() => void) | undefined;
  const acks = connection.subscribe(`${envelope.inbox}.ack`, {
    callback: (_error, message) => {
      const ack = parseWire(streamAckSchema, message.data);
      if (!ack.ok) return; // not an acknowledgement: ignored, the window stays where it was
      acknowledged = Math.max(acknowledged, ack.value.acknowledged);
      wake?.();
    },
  });
  signal.addEventListener('abort', () => wake?.(), { once: true });
  // Parts published while disconnected are lost: the stream stops at the next part and ends with an
  // error sent after the reconnect (below).
  let lost: ByzerLLMError | undefined;
  const untrack = watchConnection(connection).track((error) => {
    lost = error;
    wake?.();
  });
  accept({ ok: true, result: null });
  let sequence = 0;
  try {
    for await (const part of parts) {
      while (sequence - acknowledged >= STREAM_WINDOW && !signal.aborted && !lost) {
        const before = acknowledged;
        await waitForWake(STREAM_ACK_TIMEOUT_MS, (resolve) => {
          wake = resolve;
        });
        if (acknowledged === before && !signal.aborted && !lost) {
          throw new AbortedError(
            `the consumer of stream ${envelope.requestId} acknowledged nothing for ${STREAM_ACK_TIMEOUT_MS / 1000}s`,
          );
        }
      }
      if (lost) throw lost;
      if (signal.aborted) throw new AbortedError();
      connection.publish(envelope.inbox, encode({ sequence: sequence++, part: encodeStreamPart(part) }));
      if (part.type === 'finish' || part.type === 'error') break;
    }
  } catch (error) {
    const failure = toByzerLLMError(error);
    const data = encode({ sequence: sequence++, part: encodeStreamPart({ type: 'error', error: failure }) });
    // After a disconnection the consumer may still be waiting (only this side dropped): the end is
    // sent once the connection is back, so that it does not wait for parts that were lost.
    if (lost) watchConnection(connection).publishReliably(() => connection.publish(envelope.inbox, data));
    else connection.publish(envelope.inbox, data);
  } finally {
    untrack();
    acks.unsubscribe();
  }
}

/** Waits until `register`'s resolver is called or `timeoutMs` passes, whichever comes first. */
function waitForWake(timeoutMs: number, register: (resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    register(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface StreamConsumerHooks {
  /** Registers a function that ends the stream with an error (e.g. its node was lost). */
  onFail?: (fail: (error: ByzerLLMError) => void) => () => void;
  /** Where dropped (invalid) stream messages are reported. */
  log?: (line: string) => void;
  /** When to send the stream's start again (a reconnect, nobody subscribed yet); never after a part. */
  resend?: ResendPolicy;
}

/**
 * Consumer side: sends the stream request with a fresh inbox and resolves once the producer accepted
 * it; the iterable yields parts until `finish` or `error`.
 */
export async function requestStream(
  connection: NatsConnection,
  subject: string,
  payload: Record<string, unknown>,
  signal: AbortSignal | undefined,
  hooks: StreamConsumerHooks = {},
): Promise<AsyncIterable<StreamPart>> {
  if (signal?.aborted) throw new AbortedError();
  // Every attempt has its own request id and inbox: a producer that accepted an attempt whose reply
  // was lost must not stream into the inbox of the next one.
  const start = async (reconnectWaitMs: number) => {
    const envelope: StreamEnvelope = { requestId: nuid.next(), inbox: createInbox() };
    const subscription = connection.subscribe(envelope.inbox);
    try {
      await natsRequest<null>(connection, subject, { ...payload, ...envelope }, STREAM_START_TIMEOUT_MS, {
        reconnectWaitMs,
        ...(hooks.onFail ? { onFail: hooks.onFail } : {}),
      });
    } catch (error) {
      subscription.unsubscribe();
      connection.publish(subjects.cancel(envelope.requestId));
      throw error;
    }
    return { subscription, envelope };
  };
  const { subscription, envelope } = hooks.resend
    ? await requestWithResend(connection, start, hooks.resend)
    : await start(faultTimeoutMs());
  return readParts(connection, subscription, envelope, signal, hooks);
}

async function* readParts(
  connection: NatsConnection,
  subscription: Subscription,
  envelope: StreamEnvelope,
  signal: AbortSignal | undefined,
  hooks: StreamConsumerHooks,
): AsyncIterable<StreamPart> {
  let lostWith: ByzerLLMError | undefined;
  const end = (error: ByzerLLMError) => {
    lostWith ??= error;
    subscription.unsubscribe();
  };
  const unregister = hooks.onFail?.(end);
  // Parts sent while the connection is down are lost: the stream cannot go on.
  const untrack = watchConnection(connection).track(end);
  const onAbort = () => {
    connection.publish(subjects.cancel(envelope.requestId));
    subscription.unsubscribe();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let received = 0;
  let dropped = 0;
  let ended = false;
  try {
    for await (const message of subscription) {
      const parsed = parseWire(streamMessageSchema, message.data);
      if (!parsed.ok) {
        hooks.log?.(`dropped an invalid stream message on ${message.subject}: ${parsed.reason}`);
        dropped++;
        continue;
      }
      const sequence = parsed.value.sequence;
      const part = parsed.value.part as WireStreamPart;
      // A gap means parts are missing (lost to a disconnection of the producer, or dropped above as
      // invalid): the answer is incomplete, so the stream ends instead of returning part of it.
      if (sequence !== received && part.type !== 'error') {
        ended = true;
        const missing = `stream ${envelope.requestId} is missing parts ${received}-${sequence - 1}`;
        yield {
          type: 'error',
          error:
            dropped > 0
              ? new WorkerFailedError(`${missing}: ${dropped} invalid stream message(s) were dropped`)
              : new ConnectionLostError(`${missing}, lost to a NATS disconnection`),
        };
        return;
      }
      received++;
      if (received % (STREAM_WINDOW / 4) === 0) {
        connection.publish(`${envelope.inbox}.ack`, encode({ acknowledged: received }));
      }
      if (part.type === 'error') {
        ended = true;
        yield decodeStreamPart(part as WireStreamPart);
        return;
      }
      if (part.type === 'finish') ended = true;
      yield part as StreamPart;
      if (ended) return;
    }
    if (lostWith) yield { type: 'error', error: lostWith };
    else if (signal?.aborted) yield { type: 'error', error: new AbortedError() };
  } finally {
    unregister?.();
    untrack();
    signal?.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
    // A consumer that stops early cancels the producer.
    if (!ended && !signal?.aborted) connection.publish(subjects.cancel(envelope.requestId));
  }
}
