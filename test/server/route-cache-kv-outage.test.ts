/**
 * A gateway whose route cache is in NATS KV keeps answering when KV goes away: the real gateway
 * (`startOpenAIServer`, a real head and saas/openai engine against the loopback upstream), its
 * route caches in JetStream KV on a real nats-server (`kvRouteCaches`). While KV answers, an
 * identical request is a hit; once nats-server is stopped, requests — plain and streamed — are
 * answered from the upstream, uncached, and the outage is logged once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Governance, kvRouteCaches } from '../../src/cluster/index.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { cacheEntryStored } from '../support/route-cache-entry.js';
import { streamedContent } from '../support/routed-gateway.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

describe('a gateway with its route cache in NATS KV, before and after KV goes away', () => {
  let nats: NatsServer;
  let connection: NatsConnection;
  let gateway: Gateway;
  const log: string[] = [];

  before(async () => {
    nats = await startNatsServer();
    // Gives up reconnecting soon, as a gateway whose NATS is gone for good would.
    connection = await connect({ servers: nats.url, reconnectTimeWait: 50, maxReconnectAttempts: 2 });
    const governance = new Governance({ cacheOf: kvRouteCaches(connection, (line) => log.push(line)) });
    await governance.set('cached', {
      strategy: 'single',
      cache: { ttl_seconds: 600, max_entries: 10 },
      targets: [{ deployment: 'gpt_chat' }],
    });
    gateway = await startGateway({ server: { governance } });
  });
  after(async () => {
    await gateway?.close();
    await connection?.close();
    await nats?.close();
  });

  const chatRequests = () =>
    gateway.upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
  const ask = (content: string, stream = false) =>
    fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cached', messages: [{ role: 'user', content }], stream }),
    });

  test('while KV answers, an identical request is a hit', async () => {
    const before = chatRequests();
    assert.equal((await ask('kept in KV')).headers.get('x-byzerllm-cache'), 'miss');
    // Stored after the answer was sent.
    await cacheEntryStored(connection, 'cached', {
      model: 'cached',
      messages: [{ role: 'user', content: 'kept in KV' }],
    });
    const hit = await ask('kept in KV');
    assert.equal(hit.headers.get('x-byzerllm-cache'), 'hit');
    assert.equal(
      ((await hit.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
      'echo: kept in KV',
    );
    assert.equal(chatRequests(), before + 1);
    assert.deepEqual(log, []);
  });

  test('with nats-server stopped, requests are answered uncached from the upstream, one log line', async () => {
    await nats.stop();
    const before = chatRequests();
    const cachedBefore = await ask('kept in KV');
    assert.equal(cachedBefore.status, 200);
    assert.equal(cachedBefore.headers.get('x-byzerllm-cache'), 'miss');
    const body = (await cachedBefore.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]!.message.content, 'echo: kept in KV');
    const again = await ask('kept in KV');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-byzerllm-cache'), 'miss');
    await again.arrayBuffer();
    const streamed = await ask('streamed without KV', true);
    assert.equal(streamed.status, 200);
    assert.equal(streamedContent(await streamed.text()), 'echo: streamed without KV');
    assert.equal(chatRequests(), before + 3, 'every request went upstream');
    assert.equal(log.length, 1, log.join('\n'));
    assert.match(log[0]!, /response cache unavailable .*answering uncached/);
    // Each answer's store after it was sent failed, and is counted (the log line is once per outage).
    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    assert.match(metrics, /byzerllm_route_cache_store_failures_total\{route="cached"\} 3\n/);
  });
});
