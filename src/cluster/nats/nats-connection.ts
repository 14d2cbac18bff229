import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HeadUnreachableError } from '../../core/index.js';
import { watchConnection } from './connection-watch.js';
import {
  type NatsSecurityOptions,
  redactNatsUrl,
  resolveNatsOptions,
  scrubSecrets,
} from './nats-security.js';

/**
 * Connects to NATS. Long-lived processes (head, nodes) reconnect forever; the first connection must
 * succeed, so a wrong address or bad credentials fail at once with a message naming the address
 * (credentials masked). `security` adds a credentials file and TLS; user/password or a token may be
 * in the URL (nats-security.ts).
 */
export async function connectNats(
  url: string,
  name: string,
  security: NatsSecurityOptions = {},
): Promise<NatsConnection> {
  const { options, secrets } = resolveNatsOptions(url, security);
  let connection: NatsConnection;
  try {
    connection = await connect({
      ...options,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      // Without it nats.js builds two Errors per request up front (their stacks are what it costs,
      // several per cent of a NATS call's CPU) for a timeout that rarely comes; ours name the
      // subject and the cause instead (`NoAnswerError`).
      noAsyncTraces: true,
    });
  } catch (error) {
    // The NATS client's message may quote what it was given: no password or token reaches it.
    const reason = scrubSecrets((error as Error).message, secrets);
    throw new HeadUnreachableError(`cannot connect to NATS at ${redactNatsUrl(url)}: ${reason}`);
  }
  // Followed from the start, so that no disconnection goes unseen by the requests in flight.
  watchConnection(connection);
  return connection;
}
