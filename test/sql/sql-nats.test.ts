/**
 * `byzerllm sql --address nats://…`: the SQL runs in the command's process, the model calls go to a
 * NATS cluster (real nats-server, a head started by the real CLI, the OpenAI stand-in), routes by
 * name included.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let nats: NatsServer;
let upstream: OpenAIUpstream;
let head: TestHome;
let user: TestHome;

before(async () => {
  nats = await startNatsServer();
  upstream = await startOpenAIUpstream();
  head = await createTestHome();
  user = await createTestHome();
  const started = await head.run(['start', '--head', '--nats', nats.url]);
  assert.equal(started.code, 0, started.stderr);
  const deployed = await user.run([
    'deploy',
    '--address',
    nats.url,
    '--pretrained_model_type',
    'saas/openai',
    '--num_workers',
    '2',
    '--worker_concurrency',
    '2',
    '--infer_params',
    `saas.api_key=${upstream.apiKey}`,
    `saas.base_url=${upstream.url}`,
    '--model',
    'cluster_chat',
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);
});

after(async () => {
  await user.cleanup();
  await head.cleanup();
  await upstream.close();
  await nats.close();
});

test('a query over a NATS cluster calls the cluster deployment for every row', async () => {
  const result = await user.run([
    'sql',
    '--address',
    nats.url,
    '--output',
    'json',
    '-e',
    "select i, llm_result(cluster_chat(llm_param(map('instruction', 'row ' || i)))) as answer from range(6) t(i) order by i",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    JSON.parse(result.stdout),
    Array.from({ length: 6 }, (_, index) => ({ i: index, answer: `echo: row ${index}` })),
  );
  assert.equal(upstream.requests.filter((request) => request.path === '/v1/chat/completions').length, 6);
  assert.ok(upstream.peakInFlight() <= 4);
});

test('a route set on the NATS head is a model function and an llm() name there', async () => {
  const file = path.join(head.home, 'route.yaml');
  await fs.writeFile(file, 'strategy: single\ntargets: [{ deployment: cluster_chat }]\n');
  const set = await head.run(['route', 'set', 'sql/route', '--file', file]);
  assert.equal(set.code, 0, set.stderr);
  const before = upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
  const result = await user.run([
    'sql',
    '--address',
    nats.url,
    '--output',
    'json',
    '-e',
    "select llm_result(`sql/route`(llm_param(map('instruction', 'by route')))) as routed, llm('sql/route', 'again') as generic",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [{ routed: 'echo: by route', generic: 'echo: again' }]);
  const after = upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
  assert.equal(after - before, 2, "each call answered once, by the route's deployment");
});
