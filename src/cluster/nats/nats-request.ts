import { type NatsConnection, NoRespondersError, RequestError } from '@nats-io/transport-node';
import { errorFromJSON, WorkerFailedError } from '../../core/index.js';
import { decode, encode, type Reply } from './nats-protocol.js';

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
    throw new NoAnswerError(`no answer on ${subject}: ${(error as Error).message}`, { cause: error });
  }
  const reply = decode<Reply<Result>>(message.data);
  if (!reply.ok) throw errorFromJSON(reply.error);
  return reply.result;
}
