/**
 * The response cache of a route in JetStream KV, as users run a cluster: two nats-servers routed
 * into one NATS cluster, a head started with `--nats` on the first and one node, two
 * `byzerllm serve --address nats://…` gateways, one on each NATS node, and a loopback OpenAI
 * upstream counting its requests. An answer that missed on one gateway is a hit on the other (also
 * replayed as a stream) and never reaches the upstream, also with the head stopped; entries expire
 * after the route's TTL; a value in the bucket that is not a chat answer is refused and the request
 * goes upstream.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { KV_RESPONSE_CACHE } from '../../src/cluster/index.js';
import { type CliCluster, startCliCluster, startServeOverNats } from '../support/cli-cluster.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import { cacheEntryStored } from '../support/route-cache-entry.js';
import { streamedContent } from '../support/routed-gateway.js';

const ROUTES = {
  'kv/cached': { ttl_seconds: 600, max_entries: 10 },
  'kv/brief': { ttl_seconds: 1, max_entries: 10 },
  'kv/poisoned': { ttl_seconds: 600, max_entries: 10 },
};

const chatBody = (model: string, content: string) => ({ model, messages: [{ role: 'user', content }] });

async function chat(baseURL: string, model: string, content: string) {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody(model, content)),
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[] };
  return { status: response.status, cache: response.headers.get('x-byzerllm-cache'), body };
}

describe('route caches in NATS KV: two gateways on two NATS nodes (real CLI, head, node)', () => {
  let cluster: CliCluster | undefined;
  let upstream: OpenAIUpstream;
  let natsClient: NatsConnection;
  /** The gateway on the first NATS node, then the one on the second. */
  let gateways: string[] = [];
  let secondGatewayLog = '';
  const chatRequests = () =>
    upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;

  before(async () => {
    upstream = await startOpenAIUpstream();
    cluster = await startCliCluster({ nodeIds: ['node-a'], natsNodes: 2 });
    const { head, nats, natsNodes } = cluster;
    const deployed = await head.run([
      'deploy',
      '--address',
      nats.url,
      '--model',
      'steady',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    for (const [name, cache] of Object.entries(ROUTES)) {
      const file = path.join(head.home, `${name.replace('/', '-')}.yaml`);
      await fs.writeFile(
        file,
        `strategy: single\ncache: { ttl_seconds: ${cache.ttl_seconds}, max_entries: ${cache.max_entries} }\ntargets: [{ deployment: steady }]\n`,
      );
      const set = await head.run(['route', 'set', name, '--file', file]);
      assert.equal(set.code, 0, set.stderr);
    }
    gateways = [
      await startServeOverNats(cluster, { natsUrl: natsNodes[0]!.url }),
      await startServeOverNats(cluster, {
        natsUrl: natsNodes[1]!.url,
        onStderr: (chunk) => {
          secondGatewayLog += chunk;
        },
      }),
    ];
    natsClient = await connect({ servers: natsNodes[1]!.url });
  });
  after(async () => {
    await natsClient?.close();
    await cluster?.close();
    await upstream?.close();
  });

  test('a miss on one gateway, then a hit on the other that never reaches the upstream', async () => {
    const before = chatRequests();
    const first = await chat(gateways[0]!, 'kv/cached', 'across NATS nodes');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.cache, 'miss');
    assert.equal(chatRequests(), before + 1);
    // Stored after the answer was sent: the other gateway is asked once the entry is in KV.
    await cacheEntryStored(natsClient, 'kv/cached', chatBody('kv/cached', 'across NATS nodes'));
    const second = await chat(gateways[1]!, 'kv/cached', 'across NATS nodes');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.cache, 'hit');
    assert.equal(second.body.choices![0]!.message.content, 'echo: across NATS nodes');
    // Asked as a stream, the same answer is replayed from KV as one.
    const streamed = await fetch(`${gateways[1]!}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'kv/cached',
        messages: [{ role: 'user', content: 'across NATS nodes' }],
        stream: true,
      }),
    });
    assert.equal(streamed.headers.get('x-byzerllm-cache'), 'hit');
    assert.equal(streamedContent(await streamed.text()), 'echo: across NATS nodes');
    assert.equal(chatRequests(), before + 1, 'the hits never reached the upstream');
  });

  test('an entry expires after the route TTL: then the request goes upstream again', async () => {
    const before = chatRequests();
    const stored = Date.now();
    assert.equal((await chat(gateways[0]!, 'kv/brief', 'short-lived')).cache, 'miss');
    await cacheEntryStored(natsClient, 'kv/brief', chatBody('kv/brief', 'short-lived'));
    assert.equal((await chat(gateways[1]!, 'kv/brief', 'short-lived')).cache, 'hit');
    assert.equal(chatRequests(), before + 1);
    // nats-server removes the entry itself; ask until a request misses, a bounded number of times.
    let answer = await chat(gateways[1]!, 'kv/brief', 'short-lived');
    for (let tries = 0; answer.cache === 'hit' && tries < 2_000; tries++)
      answer = await chat(gateways[1]!, 'kv/brief', 'short-lived');
    assert.equal(answer.cache, 'miss');
    assert.ok(Date.now() - stored >= 900, `expired after ${Date.now() - stored} ms, not before the 1 s TTL`);
    assert.equal(answer.body.choices![0]!.message.content, 'echo: short-lived');
    assert.equal(chatRequests(), before + 2, 'the expired request reached the upstream once');
  });

  test('a poisoned KV value is refused and the request goes upstream; its answer replaces it', async () => {
    const before = chatRequests();
    assert.equal((await chat(gateways[0]!, 'kv/poisoned', 'poison me')).cache, 'miss');
    // The entry that request stored: overwrite its value as a hostile client on the bus could,
    // with something shaped almost like an answer.
    const key = await cacheEntryStored(natsClient, 'kv/poisoned', chatBody('kv/poisoned', 'poison me'));
    const bucket = await new Kvm(jetstream(natsClient)).open(KV_RESPONSE_CACHE);
    await bucket.put(key, JSON.stringify({ text: 'injected', toolCalls: 'none' }));
    // Watched from here on: the next value of the key is the refused request's answer replacing it.
    const updates = await bucket.watch({ key, include: 'updates' });

    const refused = await chat(gateways[1]!, 'kv/poisoned', 'poison me');
    assert.equal(refused.status, 200, JSON.stringify(refused.body));
    assert.equal(refused.cache, 'miss');
    assert.equal(refused.body.choices![0]!.message.content, 'echo: poison me');
    assert.equal(chatRequests(), before + 2, 'the refused request went upstream');
    assert.match(secondGatewayLog, /refused a cached answer of route kv\/poisoned/);
    for await (const entry of updates) if (entry.operation === 'PUT') break;
    updates.stop();
    const replaced = await chat(gateways[0]!, 'kv/poisoned', 'poison me');
    assert.equal(replaced.cache, 'hit');
    assert.equal(replaced.body.choices![0]!.message.content, 'echo: poison me');
  });

  test('with the head stopped, a cached answer is still a hit on either gateway', async () => {
    const stopped = await cluster!.head.run(['stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const before = chatRequests();
    for (const gateway of gateways) {
      const answer = await chat(gateway, 'kv/cached', 'across NATS nodes');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.cache, 'hit');
    }
    assert.equal(chatRequests(), before);
  });
});
