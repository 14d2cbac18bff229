import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HeadUnreachableError } from '../../core/index.js';
import { watchConnection } from './connection-watch.js';

/**
 * Connects to NATS. Long-lived processes (head, nodes) reconnect forever; the first connection must
 * succeed, so a wrong address fails at once with a message naming it.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  let connection: NatsConnection;
  try {
    connection = await connect({
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
  // Followed from the start, so that no disconnection goes unseen by the requests in flight.
  watchConnection(connection);
  return connection;
}
