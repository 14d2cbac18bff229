import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HeadUnreachableError } from '../../core/index.js';

/**
 * Connects to NATS. Long-lived processes (head, nodes) reconnect forever; the first connection must
 * succeed, so a wrong address fails at once with a message naming it.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
    });
  } catch (error) {
    throw new HeadUnreachableError(`cannot connect to NATS at ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
