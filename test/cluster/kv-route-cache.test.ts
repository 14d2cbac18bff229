/**
 * Route response caches in JetStream KV (`KvRouteCache`) on real nats-servers: two NATS nodes
 * routed into one cluster share a route's cache, an entry older than the route's TTL is a miss,
 * the bucket has the limits the docs state, a large answer is not stored, a value that is not a
 * chat answer is refused, and without KV the cache is a miss that never throws, logged once per
 * outage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  CACHE_BUCKET_BYTES,
  type CacheSettings,
  cacheEntryKey,
  connectNats,
  KV_RESPONSE_CACHE,
  KvRouteCache,
  kvRouteCaches,
  MAX_CACHE_TTL_MS,
  MAX_CACHED_ANSWER_BYTES,
  ResponseCacheBucket,
} from '../../src/cluster/index.js';
import type { ChatResult } from '../../src/core/index.js';
import { cacheableResult } from '../../src/server/routed-chat-cache.js';
import { startNatsCluster, startNatsServer } from '../support/nats-server.js';
import { startSecureNatsServer, startTokenNatsServer } from '../support/nats-secure-server.js';

const answer = (text: string): ChatResult => ({
  text,
  toolCalls: [],
  finishReason: 'stop',
  usage: { inputTokens: 3, outputTokens: 2 },
  requestId: 'request-1',
  warnings: [],
});

function cacheOn(
  connection: NatsConnection,
  route: string,
  settings: CacheSettings,
  lines: string[] = [],
  now?: () => number,
) {
  const bucket = new ResponseCacheBucket({
    connection,
    log: (line) => lines.push(line),
    ...(now ? { now } : {}),
  });
  return new KvRouteCache({ bucket, route, settings });
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

  test('a local worker’s answer (busy seconds in its usage) is stored as the gateway stores it, and hits', async () => {
    const lines: string[] = [];
    const cache = cacheOn(first, 'local', { ttl_seconds: 600, max_entries: 100 }, lines);
    const fromWorker: ChatResult = {
      ...answer('local'),
      usage: { inputTokens: 3, outputTokens: 2, cpuSeconds: 0.012 },
    };
    await cache.set('request L', cacheableResult(fromWorker));
    assert.deepEqual(await cache.get('request L'), answer('local'), 'a replay spends no worker seconds');
    assert.deepEqual(lines, [], 'nothing refused');
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
      'another route never shares a key',
    );
  });

  test('an entry stored longer ago than the route TTL is a miss', async () => {
    let clock = Date.now();
    const cache = cacheOn(first, 'short-lived', { ttl_seconds: 1, max_entries: 10 }, [], () => clock);
    await cache.set('request', answer('brief'));
    clock = Date.now();
    assert.deepEqual(await cache.get('request'), answer('brief'));
    // nats-server stamps the entry when it stores it; a second later (by this clock) it is stale.
    clock = Date.now() + 1_000;
    assert.equal(await cache.get('request'), undefined);
    const longer = cacheOn(first, 'short-lived', { ttl_seconds: 5, max_entries: 10 }, [], () => clock);
    assert.deepEqual(await longer.get('request'), answer('brief'), 'the TTL is the reading route config');
  });

  test('the bucket: one day max age, 256 MiB oldest out first, 256 KiB values; a large answer is not stored', async () => {
    const lines: string[] = [];
    const cache = cacheOn(first, 'roomy', { ttl_seconds: 600, max_entries: 10 }, lines);
    await cache.set('large', answer('x'.repeat(MAX_CACHED_ANSWER_BYTES)));
    assert.equal(await cache.get('large'), undefined);
    assert.deepEqual(lines, [], 'a large answer is skipped, not an outage');
    const bucket = await new Kvm(jetstream(second)).open(KV_RESPONSE_CACHE);
    const { config } = (await bucket.status()).streamInfo;
    assert.equal(config.max_age, MAX_CACHE_TTL_MS * 1_000_000);
    assert.equal(config.max_bytes, CACHE_BUCKET_BYTES);
    assert.equal(config.max_msg_size, MAX_CACHED_ANSWER_BYTES);
    assert.equal(config.discard, 'old');
    await assert.rejects(bucket.put('hostile', 'x'.repeat(MAX_CACHED_ANSWER_BYTES + 1)), /exceeds maximum/);
  });

  test('a value in the bucket that is not a chat answer is refused and logged', async () => {
    const settings = { ttl_seconds: 600, max_entries: 10 };
    const lines: string[] = [];
    const cache = cacheOn(second, 'poisoned', settings, lines);
    await cache.set('request', answer('genuine'));
    const bucket = await new Kvm(jetstream(first)).open(KV_RESPONSE_CACHE);
    const poisons = [
      'not json',
      JSON.stringify({ text: 'no other fields' }),
      JSON.stringify({ ...answer('with a script'), injected: '<script>' }),
      JSON.stringify({ ...answer('bad usage'), usage: { inputTokens: -1, outputTokens: 0 } }),
    ];
    for (const poison of poisons) {
      await bucket.put(cacheEntryKey('poisoned', 'request'), poison);
      assert.equal(await cache.get('request'), undefined, poison);
    }
    assert.equal(lines.filter((line) => /refused a cached answer of route poisoned/.test(line)).length, 4);
    // The route's fresh answer replaces the poison.
    await cache.set('request', answer('genuine'));
    assert.deepEqual(await cache.get('request'), answer('genuine'));
  });
});

describe('route caches without NATS KV are a logged miss, never an error', () => {
  test('a NATS server without JetStream: every get misses, every set stores nothing, one log line for all routes', async () => {
    const server = await startTokenNatsServer('token-without-jetstream');
    const connection = await connect({ servers: server.url, token: 'token-without-jetstream' });
    try {
      const lines: string[] = [];
      const cacheOf = kvRouteCaches(connection, (line) => lines.push(line));
      const caches = ['no-kv', 'no-kv-either'].map((route) =>
        cacheOf(route, { ttl_seconds: 60, max_entries: 10 }),
      );
      for (let round = 0; round < 3; round++) {
        for (const cache of caches) {
          await cache.set('request', answer('kept nowhere'));
          assert.equal(await cache.get('request'), undefined);
        }
      }
      for (const cache of caches)
        assert.deepEqual({ hits: cache.hits, misses: cache.misses }, { hits: 0, misses: 3 });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /response cache unavailable .*answering uncached/);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  test('NATS stopped after a hit: misses within the KV timeout, logged once; KV again once NATS is back', async () => {
    const server = await startNatsServer();
    const connection = await connect({
      servers: server.url,
      reconnectTimeWait: 50,
      maxReconnectAttempts: -1,
    });
    try {
      const lines: string[] = [];
      let clock = Date.now();
      const cache = cacheOn(connection, 'outage', { ttl_seconds: 600, max_entries: 10 }, lines, () => clock);
      await cache.set('request', answer('before the outage'));
      assert.deepEqual(await cache.get('request'), answer('before the outage'));
      await server.stop();
      const started = Date.now();
      assert.equal(await cache.get('request'), undefined);
      await cache.set('request', answer('during the outage'));
      assert.equal(await cache.get('request'), undefined);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /response cache unavailable/);

      // nats-server back with its storage: after the retry interval the cache reaches KV again.
      const reconnected = (async () => {
        for await (const status of connection.status()) if (status.type === 'reconnect') return;
      })();
      await server.restart();
      await reconnected;
      assert.equal(await cache.get('request'), undefined, 'still inside the retry interval');
      clock += 10_000;
      assert.deepEqual(await cache.get('request'), answer('before the outage'));
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[1]!, /response cache reachable again/);
    } finally {
      await connection.close();
      await server.close();
    }
  });
});

describe('NATS permissions keep the cache bucket to gateway accounts (docs/cluster.md roles)', () => {
  test('a gateway account shares the cache; a client account reaches no KV and gets misses', async () => {
    const nats = await startSecureNatsServer();
    const tls = { tls: { caFile: nats.caFile } };
    const gateways = [
      await connectNats(nats.urlFor('gateway'), 'gateway-1', tls),
      await connectNats(nats.urlFor('gateway'), 'gateway-2', tls),
    ];
    const client = await connectNats(nats.urlFor('client'), 'client', tls);
    try {
      const settings = { ttl_seconds: 600, max_entries: 10 };
      const gatewayLines: string[] = [];
      await cacheOn(gateways[0]!, 'guarded', settings, gatewayLines).set('request', answer('for gateways'));
      assert.deepEqual(
        await cacheOn(gateways[1]!, 'guarded', settings, gatewayLines).get('request'),
        answer('for gateways'),
      );
      assert.deepEqual(gatewayLines, []);

      const clientLines: string[] = [];
      const fromClient = cacheOn(client, 'guarded', settings, clientLines);
      assert.equal(await fromClient.get('request'), undefined);
      await fromClient.set('request', answer('from a client'));
      assert.equal(clientLines.length, 1, clientLines.join('\n'));
      assert.match(clientLines[0]!, /unavailable .*Permissions Violation/);
      // Writing the entry directly, as a hostile client would, is refused by the server.
      await assert.rejects(
        client.request(
          `$KV.${KV_RESPONSE_CACHE}.${cacheEntryKey('guarded', 'request')}`,
          JSON.stringify(answer('from a client')),
          { timeout: 5_000 },
        ),
        /Permissions Violation/,
      );
      assert.deepEqual(
        await cacheOn(gateways[1]!, 'guarded', settings).get('request'),
        answer('for gateways'),
        "the client's write never landed",
      );
    } finally {
      for (const connection of [...gateways, client]) await connection.close();
      await nats.close();
    }
  });
});
