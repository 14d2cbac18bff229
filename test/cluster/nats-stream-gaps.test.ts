/**
 * A stream consumer never returns half an answer as if it were whole: parts are numbered, and a gap
 * ends the stream with a `worker_failed` error part that says why: parts lost to a NATS
 * disconnection, or parts dropped because they failed the stream part schema (a misbehaving or
 * hostile producer, played here by a raw NATS subscriber on a real nats-server).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, encode } from '../../src/cluster/index.js';
import { requestStream } from '../../src/cluster/nats/nats-streams.js';
import type { StreamPart } from '../../src/core/index.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';

describe('gaps in a NATS stream', () => {
  let server: NatsServer;
  let connection: NatsConnection;

  before(async () => {
    server = await startNatsServer();
    connection = await connectNats(server.url, 'stream-gaps');
  });

  after(async () => {
    await connection?.drain();
    await server?.close();
  });

  /** Serves `subject` as a producer that accepts every stream and publishes `messages` as they are. */
  function produce(subject: string, messages: unknown[]): void {
    connection.subscribe(subject, {
      callback: (_error, message) => {
        const { inbox } = JSON.parse(new TextDecoder().decode(message.data)) as { inbox: string };
        message.respond(encode({ ok: true, result: null }));
        for (const streamMessage of messages) connection.publish(inbox, encode(streamMessage));
      },
    });
  }

  async function consume(subject: string, log: string[]): Promise<StreamPart[]> {
    const parts: StreamPart[] = [];
    const stream = await requestStream(connection, subject, { request: {} }, undefined, {
      log: (line) => log.push(line),
    });
    for await (const part of stream) parts.push(part);
    return parts;
  }

  const finish = { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } };

  test('a part dropped as invalid ends the stream with worker_failed naming the drop', async () => {
    produce('test.gaps.invalid', [
      { sequence: 0, part: { type: 'text-delta', delta: 'first ' } },
      { sequence: 1, part: { type: 'text-delta', delta: 42 } },
      { sequence: 2, part: finish },
    ]);
    const log: string[] = [];
    const parts = await consume('test.gaps.invalid', log);
    assert.deepEqual(parts[0], { type: 'text-delta', delta: 'first ' });
    assert.equal(parts.length, 2, JSON.stringify(parts));
    const last = parts[1]!;
    assert.equal(last.type, 'error');
    assert.equal(last.type === 'error' && last.error.code, 'worker_failed');
    assert.match(
      last.type === 'error' ? last.error.message : '',
      /missing parts 1-1: 1 invalid stream message\(s\) were dropped/,
    );
    assert.equal(log.length, 1, log.join('\n'));
    assert.match(log[0]!, /dropped an invalid stream message on _INBOX\./);
  });

  test('a gap with nothing dropped is a NATS disconnection of the producer', async () => {
    produce('test.gaps.lost', [
      { sequence: 0, part: { type: 'text-delta', delta: 'first ' } },
      { sequence: 3, part: finish },
    ]);
    const parts = await consume('test.gaps.lost', []);
    assert.equal(parts.length, 2, JSON.stringify(parts));
    const last = parts[1]!;
    assert.equal(last.type === 'error' && last.error.code, 'worker_failed');
    assert.ok(last.type === 'error' && last.error.isRetryable);
    assert.match(
      last.type === 'error' ? last.error.message : '',
      /missing parts 1-2, lost to a NATS disconnection/,
    );
  });

  test('numbered parts without a gap make the whole answer', async () => {
    produce('test.gaps.none', [
      { sequence: 0, part: { type: 'text-delta', delta: 'whole ' } },
      { sequence: 1, part: { type: 'text-delta', delta: 'answer' } },
      { sequence: 2, part: finish },
    ]);
    const parts = await consume('test.gaps.none', []);
    assert.deepEqual(
      parts.map((part) => part.type),
      ['text-delta', 'text-delta', 'finish'],
    );
  });
});
