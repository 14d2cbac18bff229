/** saas/baichuan: Baichuan's OpenAI-shaped REST API (chat, SSE, Baichuan-Text-Embedding) against the OpenAI stand-in. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createBaichuanEngine } from '../../../src/engines/baichuan/baichuan-provider.js';
import { startOpenAIUpstream } from '../../support/openai-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';

const API_KEY = 'sk-baichuan-secret-789';

function engineFor(baseUrl: string, params: Record<string, string> = {}): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'baichuan',
    pretrainedModelType: 'saas/baichuan',
    inferParams: { 'saas.api_key': API_KEY, 'saas.base_url': baseUrl, 'saas.max_retries': '0', ...params },
  });
  return createBaichuanEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
}

runChatModelConformance('saas/baichuan', async (setup) => {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
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

describe('saas/baichuan', () => {
  test('defaults to Baichuan2-Turbo and passes with_search_enhance through', async () => {
    const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
    const engine = await engineFor(upstream.url);
    try {
      assert.equal(engine.chat?.provider, 'saas/baichuan');
      await engine.chat?.doGenerate({
        messages: [{ role: 'user', content: 'hi' }],
        extra: { with_search_enhance: true },
      });
      const body = upstream.requests.at(-1)?.body as Record<string, unknown> | undefined;
      assert.equal(body?.model, 'Baichuan2-Turbo');
      assert.equal(body?.with_search_enhance, true);
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('Baichuan-Text-Embedding is an embedding deployment', async () => {
    const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
    const engine = await engineFor(upstream.url, { 'saas.model': 'Baichuan-Text-Embedding' });
    try {
      assert.equal(engine.meta.embedding_mode, true);
      const result = await engine.embedding?.doEmbed({ values: ['一', '二'] });
      assert.equal(result?.embeddings.length, 2);
      assert.equal(upstream.requests.at(-1)?.path, '/v1/embeddings');
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });
});
