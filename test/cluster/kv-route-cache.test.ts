/**
 * Route response caches in JetStream KV (`KvRouteCache`) on real nats-servers: two NATS nodes
 * routed into one cluster share a route's cache, entries expire after the route's TTL, the oldest
 * go past `max_entries`, a large answer is not stored, a value that is not a chat answer is
 * refused, and without KV the cache is a miss that never throws, logged once per outage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type CacheSettings,
  cacheBucketName,
  cacheEntryKey,
  KvRouteCache,
  MAX_CACHED_ANSWER_BYTES,
} from '../../src/cluster/index.js';
import type { ChatResult } from '../../src/core/index.js';
import { startNatsCluster, startNatsServer } from '../support/nats-server.js';
import { startTokenNatsServer } from '../support/nats-secure-server.js';

const answer = (text: string): ChatResult => ({
  text,
  toolCalls: [],
  finishReason: 'stop',
  usage: { inputTokens: 3, outputTokens: 2 },
  requestId: 'request-1',
  warnings: [],
});

function cacheOn(connection: NatsConnection, route: string, settings: CacheSettings, lines: string[] = []) {
  return new KvRouteCache({ connection, route, settings, log: (line) => lines.push(line) });
}

describe('route caches in NATS KV across a two-node NATS cluster', () => {
  let cluster: Awaited<ReturnType<typeof startNatsCluster>>;
  let first: NatsConnection;
  let second: NatsConnection;

  before(async () => {
    cluster = await startNatsCluster(2);
    first = await connect({ servers: cluster.nodes[0]!.url });
    second = await connect({ servers: cluster.nodes[1]!.url });
  });
  after(async () => {
    await first?.close();
    await second?.close();
    await cluster?.close();
  });

  test('an answer stored through one node is a hit through the other', async () => {
    const settings = { ttl_seconds: 600, max_entries: 100 };
    const writer = cacheOn(first, 'shared', settings);
    const reader = cacheOn(second, 'shared', settings);
    assert.equal(await reader.get('request A'), undefined);
    await writer.set('request A', answer('cached A'));
    assert.deepEqual(await reader.get('request A'), answer('cached A'));
    assert.equal(await reader.get('request B'), undefined, 'another request is another key');
    assert.deepEqual({ hits: reader.hits, misses: reader.misses }, { hits: 1, misses: 2 });
    assert.equal(
      await cacheOn(second, 'other-route', settings).get('request A'),
      undefined,
      'another route is another bucket',
    );
  });

  test('entries expire after the route TTL (the bucket max age)', async () => {
    const cache = cacheOn(first, 'short-lived', { ttl_seconds: 1, max_entries: 10 });
    const stored = Date.now();
    await cache.set('request', answer('brief'));
    assert.deepEqual(await cache.get('request'), answer('brief'));
    // nats-server removes the entry itself; ask until it is gone, a bounded number of times.
    let tries = 0;
    while ((await cache.get('request')) !== undefined && tries < 10_000) tries++;
    const gone = Date.now() - stored;
    assert.ok(tries < 10_000, 'the entry expired');
    assert.ok(gone >= 900, `expired after ${gone} ms, not before the 1 s TTL`);
  });

  test('past max_entries the oldest entries go; a large answer is not stored', async () => {
    const settings = { ttl_seconds: 600, max_entries: 2 };
    const cache = cacheOn(first, 'small', settings);
    for (const name of ['one', 'two', 'three']) await cache.set(name, answer(name));
    assert.equal(await cache.get('one'), undefined);
    assert.deepEqual(await cache.get('two'), answer('two'));
    assert.deepEqual(await cache.get('three'), answer('three'));

    const lines: string[] = [];
    const roomy = cacheOn(first, 'roomy', { ttl_seconds: 600, max_entries: 10 }, lines);
    await roomy.set('large', answer('x'.repeat(MAX_CACHED_ANSWER_BYTES)));
    assert.equal(await roomy.get('large'), undefined);
    assert.deepEqual(lines, [], 'a large answer is skipped, not an outage');
  });

  test('a value in the bucket that is not a chat answer is refused and logged', async () => {
    const settings = { ttl_seconds: 600, max_entries: 10 };
    const lines: string[] = [];
    const cache = cacheOn(second, 'poisoned', settings, lines);
    await cache.set('request', answer('genuine'));
    const bucket = await new Kvm(jetstream(first)).open(cacheBucketName('poisoned', settings));
    const poisons = [
      'not json',
      JSON.stringify({ text: 'no other fields' }),
      JSON.stringify({ ...answer('with a script'), injected: '<script>' }),
      JSON.stringify({ ...answer('bad usage'), usage: { inputTokens: -1, outputTokens: 0 } }),
    ];
    for (const poison of poisons) {
      await bucket.put(cacheEntryKey('request'), poison);
      assert.equal(await cache.get('request'), undefined, poison);
    }
    assert.equal(lines.filter((line) => /refused a cached answer of route poisoned/.test(line)).length, 4);
    // The route's fresh answer replaces the poison.
    await cache.set('request', answer('genuine'));
    assert.deepEqual(await cache.get('request'), answer('genuine'));
  });
});

describe('route caches without NATS KV are a logged miss, never an error', () => {
  test('a NATS server without JetStream: every get misses, every set stores nothing, one log line', async () => {
    const server = await startTokenNatsServer('token-without-jetstream');
    const connection = await connect({ servers: server.url, token: 'token-without-jetstream' });
    try {
      const lines: string[] = [];
      const cache = cacheOn(connection, 'no-kv', { ttl_seconds: 60, max_entries: 10 }, lines);
      for (let round = 0; round < 3; round++) {
        await cache.set('request', answer('kept nowhere'));
        assert.equal(await cache.get('request'), undefined);
      }
      assert.deepEqual({ hits: cache.hits, misses: cache.misses }, { hits: 0, misses: 3 });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /response cache of route no-kv unavailable .*answering uncached/);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  test('NATS stopped after a hit: the next lookup misses within the KV timeout and is logged once', async () => {
    const server = await startNatsServer();
    const connection = await connect({ servers: server.url, reconnectTimeWait: 50 });
    try {
      const lines: string[] = [];
      const cache = cacheOn(connection, 'outage', { ttl_seconds: 60, max_entries: 10 }, lines);
      await cache.set('request', answer('before the outage'));
      assert.deepEqual(await cache.get('request'), answer('before the outage'));
      await server.stop();
      const started = Date.now();
      assert.equal(await cache.get('request'), undefined);
      await cache.set('request', answer('during the outage'));
      assert.equal(await cache.get('request'), undefined);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /response cache of route outage unavailable/);
    } finally {
      await connection.close();
      await server.close();
    }
  });
});
