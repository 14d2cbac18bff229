import {
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
} from '@nats-io/transport-node';
import {
  errorFromJSON,
  InvalidArgumentError,
  type SerializedError,
  WorkerFailedError,
} from '../../core/index.js';
import { parseWire, replySchema } from './nats-messages.js';
import { encode } from './nats-protocol.js';

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

/** Request/reply with our `Reply` envelope; errors come back as the same `ByzerLLMError` classes. */
export async function natsRequest<Result>(
  connection: NatsConnection,
  subject: string,
  payload: unknown,
  timeoutMs: number,
): Promise<Result> {
  let message: Awaited<ReturnType<NatsConnection['request']>>;
  try {
    message = await connection.request(subject, encode(payload), { timeout: timeoutMs });
  } catch (error) {
    const denied = permissionViolation(error);
    if (denied) throw denied;
    throw new NoAnswerError(`no answer on ${subject}: ${(error as Error).message}`, { cause: error });
  }
  const reply = parseWire(replySchema, message.data);
  if (!reply.ok) throw new WorkerFailedError(`invalid reply on ${subject}: ${reply.reason}`);
  if (!reply.value.ok) throw errorFromJSON(reply.value.error as SerializedError);
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
