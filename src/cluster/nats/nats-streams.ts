/**
 * Streams over NATS, both directions: the producer publishes parts to the consumer's inbox at most
 * `STREAM_WINDOW` ahead of its acknowledgements; the consumer acknowledges every quarter window and
 * cancels with a message on `byzerllm.cancel.<requestId>`.
 */
import { createInbox, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import {
  AbortedError,
  type ByzerLLMError,
  errorFromJSON,
  type SerializedError,
  type StreamPart,
  toByzerLLMError,
} from '../../core/index.js';
import { parseWire, streamAckSchema, streamMessageSchema } from './nats-messages.js';
import { encode, type Reply, STREAM_WINDOW, subjects } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';

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
    accept({ ok: false, error: toByzerLLMError(error).toJSON() });
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
  accept({ ok: true, result: null });
  let sequence = 0;
  try {
    for await (const part of parts) {
      while (sequence - acknowledged >= STREAM_WINDOW && !signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (signal.aborted) throw new AbortedError();
      const payload = part.type === 'error' ? { type: 'error', error: part.error.toJSON() } : part;
      connection.publish(envelope.inbox, encode({ sequence: sequence++, part: payload }));
      if (part.type === 'finish' || part.type === 'error') break;
    }
  } catch (error) {
    const failure = toByzerLLMError(error);
    connection.publish(
      envelope.inbox,
      encode({ sequence: sequence++, part: { type: 'error', error: failure.toJSON() } }),
    );
  } finally {
    acks.unsubscribe();
  }
}

export interface StreamConsumerHooks {
  /** Registers a function that ends the stream with an error (e.g. its node was lost). */
  onFail?: (fail: (error: ByzerLLMError) => void) => () => void;
  /** Where dropped (invalid) stream messages are reported. */
  log?: (line: string) => void;
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
  const requestId = nuid.next();
  const inbox = createInbox();
  const subscription = connection.subscribe(inbox);
  try {
    await natsRequest<null>(connection, subject, { ...payload, requestId, inbox }, 60_000);
  } catch (error) {
    subscription.unsubscribe();
    throw error;
  }
  return readParts(connection, subscription, { requestId, inbox }, signal, hooks);
}

async function* readParts(
  connection: NatsConnection,
  subscription: Subscription,
  envelope: StreamEnvelope,
  signal: AbortSignal | undefined,
  hooks: StreamConsumerHooks,
): AsyncIterable<StreamPart> {
  let lostWith: ByzerLLMError | undefined;
  const unregister = hooks.onFail?.((error) => {
    lostWith = error;
    subscription.unsubscribe();
  });
  const onAbort = () => {
    connection.publish(subjects.cancel(envelope.requestId));
    subscription.unsubscribe();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let received = 0;
  let ended = false;
  try {
    for await (const message of subscription) {
      const parsed = parseWire(streamMessageSchema, message.data);
      if (!parsed.ok) {
        hooks.log?.(`dropped an invalid stream message on ${message.subject}: ${parsed.reason}`);
        continue;
      }
      const part = parsed.value.part as StreamPart | { type: 'error'; error: SerializedError };
      received++;
      if (received % (STREAM_WINDOW / 4) === 0) {
        connection.publish(`${envelope.inbox}.ack`, encode({ acknowledged: received }));
      }
      if (part.type === 'error') {
        ended = true;
        yield { type: 'error', error: errorFromJSON(part.error as SerializedError) };
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
    signal?.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
    // A consumer that stops early cancels the producer.
    if (!ended && !signal?.aborted) connection.publish(subjects.cancel(envelope.requestId));
  }
}
