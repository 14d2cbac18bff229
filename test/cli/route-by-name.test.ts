/**
 * The head's wiring of routes by name: after `byzerllm route set`, `byzerllm query --model <route>`
 * (the TS client over the admin API) answers through the route's fallback when its first
 * deployment points at a closed port. Real CLI, real head process, loopback OpenAI stand-in.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let home: TestHome;

const deployArgs = (name: string, baseUrl: string) => [
  'deploy',
  '--pretrained_model_type',
  'saas/openai',
  '--infer_params',
  `saas.api_key=${upstream.apiKey}`,
  'saas.model=m',
  `saas.base_url=${baseUrl}`,
  'saas.max_retries=0',
  '--model',
  name,
];

before(async () => {
  upstream = await startOpenAIUpstream();
  home = await createTestHome();
});

after(async () => {
  await home?.cleanup();
  await upstream?.close();
});

test('query by a route name reaches the live deployment behind its dead first target', async () => {
  for (const [name, url] of [
    ['dead', 'http://127.0.0.1:9/v1'],
    ['alive', upstream.url],
  ] as const) {
    const deployed = await home.run(deployArgs(name, url));
    assert.equal(deployed.code, 0, deployed.stderr);
  }
  const file = path.join(home.home, 'route.json');
  await fs.writeFile(
    file,
    JSON.stringify({ strategy: 'fallback', targets: [{ deployment: 'dead' }, { deployment: 'alive' }] }),
  );
  const set = await home.run(['route', 'set', 'chat_main', '--file', file]);
  assert.equal(set.code, 0, set.stderr);
  const answered = await home.run(['query', '--model', 'chat_main', '--query', 'hello route']);
  assert.equal(answered.code, 0, answered.stderr);
  assert.equal(answered.stdout, 'echo: hello route\n');
  const stat = await home.run(['route', 'stat']);
  assert.match(stat.stdout, /"dead"/);
});
