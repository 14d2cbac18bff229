/**
 * `ConnectionWatch.confirm` on a real nats-server: the replies of a burst share one flush (a PING
 * per reply cost a socket write and a PONG per NATS call), and a confirmation still waiting when
 * the connection drops fails at once, so its reply is sent again after the reconnect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../src/cluster/index.js';
import {
  ConnectionLostError,
  ConnectionWatch,
  watchConnection,
} from '../../src/cluster/nats/connection-watch.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';

describe('NATS reply confirmation', () => {
  let server: NatsServer;
  let connection: NatsConnection;

  before(async () => {
    server = await startNatsServer();
    connection = await connectNats(server.url, 'confirm-test');
  });

  after(async () => {
    await connection.close();
    await server.close();
  });

  test('a burst of replies is confirmed by one flush', async () => {
    const watch = watchConnection(connection);
    const flush = connection.flush.bind(connection);
    let flushes = 0;
    connection.flush = () => {
      flushes++;
      return flush();
    };
    try {
      const received: string[] = [];
      const subscription = connection.subscribe('confirm.burst', {
        callback: (_error, message) => {
          received.push(message.string());
        },
      });
      await Promise.all(
        Array.from({ length: 50 }, (_, index) => {
          connection.publish('confirm.burst', String(index));
          return watch.confirm();
        }),
      );
      assert.equal(flushes, 1);
      // Confirmed means the server has them: a flush of the subscriber's own connection delivers them.
      await connection.flush();
      assert.equal(received.length, 50);
      subscription.unsubscribe();
    } finally {
      connection.flush = flush;
    }
  });

  test('a confirmation pending when the connection drops fails at once, before any reconnect', async () => {
    // A batch longer than the test, so the confirmation is certainly not flushed when the server stops.
    const watch = new ConnectionWatch(connection, 60_000);
    connection.publish('confirm.lost', 'maybe lost');
    const pending = watch.confirm();
    const outcome = pending.then(
      () => 'confirmed',
      (error: unknown) => error,
    );
    await server.stop();
    const result = await outcome;
    assert.ok(result instanceof ConnectionLostError, `expected ConnectionLostError, got ${String(result)}`);
    await server.restart();
    await watch.whenConnected(10_000);
  });
});
