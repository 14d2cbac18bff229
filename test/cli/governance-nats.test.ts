/**
 * Routes, cooldowns and the response cache shared across a NATS cluster: a real nats-server, a head
 * started with `--nats`, one node, two `byzerllm serve --address nats://…` gateways (each its own
 * process and NATS connection) and loopback OpenAI upstreams counting their requests. Routes set on
 * the head resolve on both gateways, a deployment cooled down by one gateway is skipped by the
 * other, and an answer cached through one gateway is a hit on the other without reaching upstream.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliCluster, startCliCluster, startServeOverNats } from '../support/cli-cluster.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

async function chat(baseURL: string, model: string, content: string) {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  const body = (await response.json()) as { model?: string; choices?: { message: { content: string } }[] };
  return { status: response.status, headers: response.headers, body };
}

/**
 * The change reaches a gateway as a NATS message, not in the `route` command's reply: ask until
 * the gateway's answer has the wanted status, a bounded number of real requests (no sleeping).
 */
async function chatUntil(baseURL: string, model: string, status: number) {
  let answer = await chat(baseURL, model, 'until');
  for (let tries = 1; answer.status !== status && tries < 200; tries++)
    answer = await chat(baseURL, model, 'until');
  return answer;
}

describe('routes, cooldowns and the cache shared by two gateways on NATS (real CLI, head, node)', () => {
  let cluster: CliCluster | undefined;
  let steady: OpenAIUpstream;
  let limited: OpenAIUpstream;
  let gateways: string[] = [];
  const chatRequests = (upstream: OpenAIUpstream) =>
    upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;

  before(async () => {
    steady = await startOpenAIUpstream();
    // Always out of quota for five minutes: one answer is enough to cool it down.
    limited = await startOpenAIUpstream({
      apiKey: steady.apiKey,
      failureOf: () => ({ status: 429, retryAfter: '300' }),
    });
    cluster = await startCliCluster({ nodeIds: ['node-a'] });
    const { head, nats } = cluster;
    for (const [name, upstream] of [
      ['steady', steady],
      ['limited', limited],
    ] as const) {
      const deployed = await head.run([
        'deploy',
        '--address',
        nats.url,
        '--model',
        name,
        '--pretrained_model_type',
        'saas/openai',
        '--infer_params',
        `saas.api_key=${upstream.apiKey}`,
        `saas.base_url=${upstream.url}`,
        'saas.max_retries=0',
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
    }
    const routes = {
      'shared/fallback': 'strategy: fallback\ntargets: [{ deployment: limited }, { deployment: steady }]\n',
      'shared/cached':
        'strategy: single\ncache: { ttl_seconds: 600, max_entries: 10 }\ntargets: [{ deployment: steady }]\n',
    };
    for (const [name, yaml] of Object.entries(routes)) {
      const file = path.join(head.home, `${name.replace('/', '-')}.yaml`);
      await fs.writeFile(file, yaml);
      const set = await head.run(['route', 'set', name, '--file', file]);
      assert.equal(set.code, 0, set.stderr);
    }
    gateways = [await startServeOverNats(cluster), await startServeOverNats(cluster)];
  });
  after(async () => {
    await cluster?.close();
    await steady?.close();
    await limited?.close();
  });

  test('both gateways resolve the routes set on the head', async () => {
    for (const gateway of gateways) {
      const answer = await chat(gateway, 'shared/cached', `resolve on ${gateway}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model, 'shared/cached');
      assert.equal(answer.headers.get('x-byzerllm-deployment'), 'steady');
    }
  });

  test('a route set or removed on the head after the gateways started reaches both', async () => {
    const { head } = cluster!;
    const file = path.join(head.home, 'late.yaml');
    await fs.writeFile(file, 'strategy: single\ntargets: [{ deployment: steady }]\n');
    const set = await head.run(['route', 'set', 'shared/late', '--file', file]);
    assert.equal(set.code, 0, set.stderr);
    for (const gateway of gateways) {
      const answer = await chatUntil(gateway, 'shared/late', 200);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.model, 'shared/late');
      assert.equal(answer.headers.get('x-byzerllm-deployment'), 'steady');
    }
    const removed = await head.run(['route', 'rm', 'shared/late']);
    assert.equal(removed.code, 0, removed.stderr);
    for (const gateway of gateways) {
      const answer = await chatUntil(gateway, 'shared/late', 404);
      assert.equal(answer.status, 404, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('x-byzerllm-deployment'), null);
    }
  });

  test('a deployment cooled down through one gateway is skipped by the other', async () => {
    const first = await chat(gateways[0]!, 'shared/fallback', 'cool it down');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get('x-byzerllm-attempts'), '2');
    assert.equal(chatRequests(limited), 1);

    const second = await chat(gateways[1]!, 'shared/fallback', 'skip it');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.headers.get('x-byzerllm-attempts'), '1');
    assert.equal(second.headers.get('x-byzerllm-deployment'), 'steady');
    assert.equal(chatRequests(limited), 1, 'the other gateway never tried the cooled-down deployment');
  });

  test('an answer cached through one gateway is a hit on the other and never reaches the upstream', async () => {
    const before = chatRequests(steady);
    const first = await chat(gateways[0]!, 'shared/cached', 'cache me once');
    assert.equal(first.headers.get('x-byzerllm-cache'), 'miss');
    assert.equal(chatRequests(steady), before + 1);
    const second = await chat(gateways[1]!, 'shared/cached', 'cache me once');
    assert.equal(second.headers.get('x-byzerllm-cache'), 'hit');
    assert.equal(second.body.choices![0]!.message.content, 'echo: cache me once');
    assert.equal(chatRequests(steady), before + 1);
  });
});
