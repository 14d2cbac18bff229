import type { NatsConnection } from '@nats-io/transport-node';
import { errorFromJSON, WorkerFailedError } from '../../core/index.js';
import { decode, encode, type Reply } from './nats-protocol.js';

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
    throw new WorkerFailedError(`no answer on ${subject}: ${(error as Error).message}`, { cause: error });
  }
  const reply = decode<Reply<Result>>(message.data);
  if (!reply.ok) throw errorFromJSON(reply.error);
  return reply.result;
}
