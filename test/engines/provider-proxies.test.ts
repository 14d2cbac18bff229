/**
 * docs/providers.md: every HTTP provider takes `saas.proxies`. Each one here is deployed with the
 * proxy and a base URL on a local upstream, makes one call, and the proxy must have tunnelled to that
 * upstream; no provider warns that the key is unknown. (The upstream speaks OpenAI's protocol, so the
 * native providers' calls may fail after the tunnel: what is checked is the path, not the answer.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deploymentSpecSchema } from '../../src/core/deployment.js';
import type { EngineInstance } from '../../src/core/models.js';
import { resolveEngine } from '../../src/engines/registry.js';
import { type ConnectProxy, startConnectProxy } from '../support/connect-proxy.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let proxy: ConnectProxy;

before(async () => {
  upstream = await startOpenAIUpstream();
  proxy = await startConnectProxy();
});
after(async () => {
  await proxy.close();
  await upstream.close();
});

const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };

/** One call of the engine's main task. */
async function callOnce(engine: EngineInstance): Promise<void> {
  const task = engine.meta.primary_task ?? 'chat';
  if (task === 'chat') await engine.chat!.doGenerate(hello);
  else if (task === 'speech') await engine.speech!.doSpeech({ input: 'hello' });
  else if (task === 'image') await engine.image!.doGenerateImage({ prompt: 'a cat' });
  else assert.fail(`no call for the task ${task}`);
}

const PROVIDERS: [type: string, params: Record<string, string>][] = [
  ['saas/openai', { 'saas.api_key': 'k' }],
  ['saas/claude', { 'saas.api_key': 'k' }],
  ['saas/gemini', { 'saas.api_key': 'k' }],
  ['saas/qianwen', { 'saas.api_key': 'k' }],
  ['saas/qianwen_vl', { 'saas.api_key': 'k' }],
  ['saas/zhipu', { 'saas.api_key': 'id.secret' }],
  ['saas/chatglm', { 'saas.api_key': 'id.secret' }],
  ['saas/baichuan', { 'saas.api_key': 'k' }],
  ['saas/qianfan', { 'saas.access_token': 't' }],
  ['saas/minimax', { 'saas.api_key': 'k', 'saas.group_id': 'g' }],
  ['saas/volcengine', { 'saas.api_key': 'k', 'saas.app_id': 'a' }],
  ['saas/azure', { 'saas.api_key': 'k' }],
  ['saas/siliconflow', { 'saas.api_key': 'k' }],
];

for (const [pretrainedModelType, params] of PROVIDERS) {
  test(`${pretrainedModelType} sends its requests through saas.proxies`, async () => {
    const warnings: string[] = [];
    const spec = deploymentSpecSchema.parse({
      name: 'proxied',
      pretrainedModelType,
      inferParams: {
        ...params,
        'saas.base_url': upstream.url,
        'saas.max_retries': '0',
        'saas.proxies': proxy.url,
      },
    });
    const engine = await resolveEngine(spec)({
      spec,
      workerIndex: 0,
      gpuIndices: [],
      warn: (message) => warnings.push(message),
    });
    const before = proxy.tunnels.length;
    try {
      await callOnce(engine).catch(() => undefined);
      assert.deepEqual(proxy.tunnels.slice(before), [`127.0.0.1:${upstream.port}`]);
      assert.deepEqual(warnings, []);
    } finally {
      await engine.dispose();
    }
  });
}

test('an unknown saas.* key is a warning that names the allowed keys; the deployment starts', async () => {
  const warnings: string[] = [];
  const spec = deploymentSpecSchema.parse({
    name: 'typo',
    pretrainedModelType: 'saas/qianwen',
    inferParams: { 'saas.api_key': 'k', 'saas.proxy': 'http://127.0.0.1:1' },
  });
  const engine = await resolveEngine(spec)({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
  await engine.dispose();
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^unknown parameter saas\.proxy ignored by saas\/qianwen \(known: .*saas\.proxies/,
  );
});
