import {
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
} from '@nats-io/transport-node';
import {
  AbortedError,
  ByzerLLMError,
  InvalidArgumentError,
  type SerializedError,
  WorkerFailedError,
} from '../../core/index.js';
import { ConnectionLostError, faultTimeoutMs, watchConnection } from './connection-watch.js';
import { parseWire, replySchema } from './nats-messages.js';
import { encode } from './nats-protocol.js';
import { decodeError } from '../wire/index.js';

/** Nobody answered (no responders, or the timeout passed): the worker or head is gone. Retryable. */
export class NoAnswerError extends WorkerFailedError {
  /** Nobody was subscribed: the request was certainly not processed, so sending it again is safe. */
  readonly noResponders: boolean;

  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    const cause = options.cause;
    this.noResponders =
      cause instanceof NoRespondersError || (cause instanceof RequestError && cause.isNoResponders());
  }
}

export interface NatsRequestOptions {
  /** How long to wait for the connection when it is down. Defaults to the fault timeout. */
  reconnectWaitMs?: number;
  /** Registers a function that fails this request early (its node was lost, the call aborted). */
  onFail?: (fail: (error: ByzerLLMError) => void) => () => void;
}

/**
 * Request/reply with our `Reply` envelope; errors come back as the same `ByzerLLMError` classes.
 *
 * A request never outlives its connection: sent while the connection is down, it first waits for
 * the reconnect (up to `reconnectWaitMs`); in flight when the connection drops, it fails at once with
 * `ConnectionLostError` (its reply could not arrive).
 */
export async function natsRequest<Result>(
  connection: NatsConnection,
  subject: string,
  payload: unknown,
  timeoutMs: number,
  options: NatsRequestOptions = {},
): Promise<Result> {
  const watch = watchConnection(connection);
  await watch.whenConnected(options.reconnectWaitMs ?? faultTimeoutMs());
  const data = encode(payload);
  // The server would refuse it, and the refusal would read like "no head answers".
  const limit = connection.info?.max_payload;
  if (limit !== undefined && data.length > limit) {
    throw new InvalidArgumentError(
      `the request on ${subject} is ${data.length} bytes, over the NATS server's max_payload of ${limit} bytes: send less per request (e.g. fewer items per write) or raise max_payload in the nats-server configuration`,
    );
  }
  let message: Awaited<ReturnType<NatsConnection['request']>>;
  let untrack: (() => void) | undefined;
  let unregister: (() => void) | undefined;
  try {
    message = await new Promise((resolve, reject) => {
      untrack = watch.track(reject);
      unregister = options.onFail?.(reject);
      connection.request(subject, data, { timeout: timeoutMs }).then(resolve, reject);
    });
  } catch (error) {
    // Failed early by a tracker (connection lost, node lost, head gone, aborted): as it is.
    if (error instanceof ByzerLLMError) throw error;
    const denied = permissionViolation(error);
    if (denied) throw denied;
    throw new NoAnswerError(`no answer on ${subject}: ${(error as Error).message}`, { cause: error });
  } finally {
    untrack?.();
    unregister?.();
  }
  const reply = parseWire(replySchema, message.data);
  if (!reply.ok) throw new WorkerFailedError(`invalid reply on ${subject}: ${reply.reason}`);
  if (!reply.value.ok) throw decodeError(reply.value.error as SerializedError);
  return reply.value.result as Result;
}

/**
 * The NATS server refused the request for this user's permissions: not retryable, and not "no head
 * answers" (docs/cluster.md lists what each role may do).
 */
export function permissionViolation(error: unknown): InvalidArgumentError | undefined {
  const cause = error instanceof RequestError ? (error.cause ?? error) : error;
  const message = cause instanceof Error ? cause.message : '';
  if (!(cause instanceof PermissionViolationError) && !/Permissions Violation/i.test(message))
    return undefined;
  return new InvalidArgumentError(
    `the NATS server refused it: ${message} (this NATS user lacks the permission; see the roles in docs/cluster.md)`,
  );
}

export interface ResendPolicy {
  /** Gives up resending after this long (from the first attempt). */
  faultTimeoutMs: number;
  /**
   * "No responders" is resent during this long from the first attempt (a head that reconnects a
   * moment after its client); after a reconnect of our own connection it is resent for `settleMs`.
   */
  noRespondersGraceMs: number;
  /** After our connection came back, peers may take this long to subscribe again. */
  settleMs: number;
  signal?: AbortSignal;
}

/**
 * Sends a request again when that is safe and likely to help: the connection dropped while it was in
 * flight (sent again once it is back), or nobody was subscribed yet (just after a reconnect, or within
 * the grace). Anything else, or the fault timeout passing, fails with the last error.
 */
export async function requestWithResend<Result>(
  connection: NatsConnection,
  send: (reconnectWaitMs: number) => Promise<Result>,
  policy: ResendPolicy,
): Promise<Result> {
  const watch = watchConnection(connection);
  const started = Date.now();
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    const left = started + policy.faultTimeoutMs - Date.now();
    try {
      return await send(Math.max(1, left));
    } catch (error) {
      if (policy.signal?.aborted) throw new AbortedError();
      const now = Date.now();
      const resendNoResponders =
        error instanceof NoAnswerError &&
        error.noResponders &&
        (now < started + policy.noRespondersGraceMs || now < watch.reconnectedAt + policy.settleMs);
      const resend = error instanceof ConnectionLostError || resendNoResponders;
      if (!resend || now + delay >= started + policy.faultTimeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
