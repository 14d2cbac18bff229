/** saas/zhipu against a local stand-in of Zhipu's v4 API that verifies the api-key JWT. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createZhipuEngine } from '../../../src/engines/zhipu/zhipu-provider.js';
import { ZhipuTokenSource } from '../../../src/engines/zhipu/zhipu-token.js';
import { startOpenAIUpstream } from '../../support/openai-upstream.js';
import { zhipuAuthorizationChecker } from '../../support/zhipu-jwt.js';
import { runChatModelConformance } from '../chat-conformance.js';

const API_KEY = 'zhipu-id-123.zhipu-secret-456';

function engineFor(baseUrl: string, params: Record<string, string> = {}): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'glm',
    pretrainedModelType: 'saas/zhipu',
    inferParams: { 'saas.api_key': API_KEY, 'saas.base_url': baseUrl, 'saas.max_retries': '0', ...params },
  });
  return createZhipuEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
}

runChatModelConformance('saas/zhipu', async (setup) => {
  const upstream = await startOpenAIUpstream({ checkAuthorization: zhipuAuthorizationChecker(API_KEY) });
  const engine = await engineFor(setup.unreachableBaseUrl ?? upstream.url);
  assert.ok(engine.chat);
  return {
    model: engine.chat,
    apiKey: API_KEY,
    whenUpstreamAborted: (count) => upstream.waitUntil(() => upstream.abortedCount() >= count),
    async close() {
      await engine.dispose();
      await upstream.close();
    },
  };
});

describe('saas/zhipu', () => {
  test('chat goes to /chat/completions as glm-4 with a JWT the server verifies', async () => {
    const upstream = await startOpenAIUpstream({ checkAuthorization: zhipuAuthorizationChecker(API_KEY) });
    const engine = await engineFor(upstream.url);
    try {
      const result = await engine.chat?.doGenerate({ messages: [{ role: 'user', content: '你好' }] });
      assert.equal(result?.text, 'echo: 你好');
      const request = upstream.requests.at(-1);
      assert.equal(request?.path, '/v1/chat/completions');
      assert.equal((request?.body as { model?: string } | undefined)?.model, 'glm-4');
      assert.ok(
        !String(request?.headers.authorization).includes('zhipu-secret-456'),
        'the secret is never sent',
      );
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('a token signed with the wrong secret is rejected as upstream_auth', async () => {
    const upstream = await startOpenAIUpstream({
      checkAuthorization: zhipuAuthorizationChecker('zhipu-id-123.another-secret'),
    });
    const engine = await engineFor(upstream.url);
    try {
      await assert.rejects(
        engine.chat?.doGenerate({ messages: [{ role: 'user', content: 'x' }] }) ?? Promise.resolve(),
        {
          code: 'upstream_auth',
        },
      );
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('embedding-2 embeddings with encoding_format float', async () => {
    const upstream = await startOpenAIUpstream({ checkAuthorization: zhipuAuthorizationChecker(API_KEY) });
    const engine = await engineFor(upstream.url, { 'saas.model': 'embedding-2' });
    try {
      assert.equal(engine.meta.embedding_mode, true);
      const result = await engine.embedding?.doEmbed({ values: ['a', 'b'] });
      assert.equal(result?.embeddings.length, 2);
      const body = upstream.requests.at(-1)?.body as Record<string, unknown> | undefined;
      assert.deepEqual(body, { model: 'embedding-2', input: ['a', 'b'], encoding_format: 'float' });
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('tokens are reused for 2.5 minutes, then renewed; a key without a secret is refused', async () => {
    let now = 1_700_000_000_000;
    const source = new ZhipuTokenSource(API_KEY, () => now);
    const first = await source.token();
    const [header, payload] = first
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.deepEqual(header, { alg: 'HS256', sign_type: 'SIGN' });
    assert.deepEqual(payload, { api_key: API_KEY.split('.')[0], exp: now + 180_000, timestamp: now });
    now += 149_000;
    assert.equal(await source.token(), first);
    now += 2_000;
    assert.notEqual(await source.token(), first);
    assert.throws(() => new ZhipuTokenSource('no-dot-here'), { code: 'invalid_argument' });
  });
});
