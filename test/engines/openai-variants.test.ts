/**
 * The OpenAI-shaped variants: `saas/reasoning_openai` (no sampling settings, reasoning_content),
 * `saas/azure_openai` (deployment URL, `api-version`, `api-key` header) and `saas.proxies`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectStream } from '../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../src/core/deployment.js';
import type { EngineInstance } from '../../src/core/models.js';
import { resolveEngine } from '../../src/engines/registry.js';
import { startAzureOpenAIUpstream } from '../support/azure-openai-upstream.js';
import { startConnectProxy } from '../support/connect-proxy.js';
import { startOpenAIUpstream } from '../support/openai-upstream.js';

const API_KEY = 'sk-variant-secret-77';

async function deploy(
  pretrainedModelType: string,
  inferParams: Record<string, string>,
  warnings: string[] = [],
): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({ name: 'variant-test', pretrainedModelType, inferParams });
  return resolveEngine(spec)({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
}

test('saas/reasoning_openai sends no temperature/top_p, warns about them, and reports reasoning', async () => {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
  const engine = await deploy('saas/reasoning_openai', {
    'saas.api_key': API_KEY,
    'saas.base_url': upstream.url,
    'saas.model': 'o3-mini',
  });
  try {
    const request = {
      messages: [{ role: 'user' as const, content: 'reason: why' }],
      temperature: 0.7,
      topP: 0.9,
      maxTokens: 50,
    };
    const result = await engine.chat!.doGenerate(request);
    const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
    assert.equal('temperature' in body, false);
    assert.equal('top_p' in body, false);
    assert.equal(body.max_tokens, 50);
    assert.deepEqual(
      result.warnings.map((warning) => warning.setting),
      ['temperature', 'topP'],
    );
    assert.equal(result.reasoning, 'thinking about: reason: why');
    const streamed = await collectStream(await engine.chat!.doStream(request));
    assert.equal(streamed.reasoning, 'thinking about: reason: why');
    assert.equal(engine.chat!.provider, 'saas/reasoning_openai');
  } finally {
    await engine.dispose();
    await upstream.close();
  }
});

test('saas/azure_openai posts to the deployment path with api-version and the api-key header', async () => {
  const server = await startAzureOpenAIUpstream(API_KEY);
  const warnings: string[] = [];
  const engine = await deploy(
    'saas/azure_openai',
    {
      'saas.api_key': API_KEY,
      'saas.azure_endpoint': `${server.origin}/`,
      'saas.azure_deployment': 'gpt4o-prod',
      'saas.api_version': '2024-10-21',
      'saas.max_retries': '0',
    },
    warnings,
  );
  try {
    const result = await engine.chat!.doGenerate({ messages: [{ role: 'user', content: 'hello azure' }] });
    assert.equal(result.text, 'echo: hello azure');
    const request = server.requests.at(-1)!;
    assert.equal(request.path, '/openai/deployments/gpt4o-prod/chat/completions');
    assert.equal(request.query.get('api-version'), '2024-10-21');
    assert.equal(request.headers.authorization, undefined, 'no bearer token is sent to Azure');
    assert.equal(engine.meta.model_name, 'gpt4o-prod');
    const streamed = await collectStream(
      await engine.chat!.doStream({ messages: [{ role: 'user', content: 'stream azure' }] }),
    );
    assert.equal(streamed.text, 'echo: stream azure');
    const embedded = await engine.embedding!.doEmbed({ values: ['alpha'] });
    assert.equal(embedded.embeddings[0]?.length, 8);
    assert.equal(server.requests.at(-1)!.path, '/openai/deployments/gpt4o-prod/embeddings');
    assert.equal(server.requests.at(-1)!.query.get('api-version'), '2024-10-21');
    assert.deepEqual(warnings, [], 'the Azure keys are known parameters');
  } finally {
    await engine.dispose();
    await server.close();
  }
  await assert.rejects(
    deploy('saas/azure_openai', { 'saas.api_key': 'k', 'saas.azure_endpoint': 'https://x.openai.azure.com' }),
    { code: 'invalid_argument', message: /saas\.azure_deployment/ },
  );
});

test('saas.proxies sends requests through an HTTP CONNECT proxy', async () => {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
  const proxy = await startConnectProxy();
  const engine = await deploy('saas/openai', {
    'saas.api_key': API_KEY,
    'saas.base_url': upstream.url,
    'saas.proxies': JSON.stringify({ 'https://': proxy.url }),
  });
  try {
    const result = await engine.chat!.doGenerate({ messages: [{ role: 'user', content: 'via proxy' }] });
    assert.equal(result.text, 'echo: via proxy');
    assert.deepEqual(proxy.tunnels, [`127.0.0.1:${upstream.port}`]);
  } finally {
    await engine.dispose();
    await upstream.close();
    await proxy.close();
  }
  await assert.rejects(deploy('saas/openai', { 'saas.api_key': 'k', 'saas.proxies': 'socks5://x' }), {
    code: 'invalid_argument',
    message: /saas\.proxies/,
  });
});
