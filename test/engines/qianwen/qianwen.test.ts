/** saas/qianwen and saas/qianwen_vl against a local DashScope stand-in. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectStream } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createQianwenEngine } from '../../../src/engines/qianwen/qianwen-provider.js';
import { type DashScopeUpstream, startDashScopeUpstream } from '../../support/dashscope-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';

const API_KEY = 'sk-dashscope-secret-42';

async function engineFor(
  baseUrl: string,
  params: Record<string, string> = {},
  multimodal = false,
  warnings: string[] = [],
): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'qwen',
    pretrainedModelType: multimodal ? 'saas/qianwen_vl' : 'saas/qianwen',
    inferParams: { 'saas.api_key': API_KEY, 'saas.base_url': baseUrl, 'saas.max_retries': '0', ...params },
  });
  return createQianwenEngine(
    { spec, workerIndex: 0, gpuIndices: [], warn: (message) => warnings.push(message) },
    { multimodal },
  );
}

async function withQianwen(
  body: (engine: EngineInstance, upstream: DashScopeUpstream) => Promise<void>,
  params: Record<string, string> = {},
  multimodal = false,
): Promise<void> {
  const upstream = await startDashScopeUpstream(API_KEY);
  const engine = await engineFor(upstream.url, params, multimodal);
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

for (const multimodal of [false, true]) {
  runChatModelConformance(multimodal ? 'saas/qianwen_vl' : 'saas/qianwen', async (setup) => {
    const upstream = await startDashScopeUpstream(API_KEY);
    const engine = await engineFor(setup.unreachableBaseUrl ?? upstream.url, {}, multimodal);
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
}

describe('saas/qianwen wire protocol', () => {
  test('generation body: model, input.messages, parameters with result_format and kwargs', async () => {
    await withQianwen(
      async (engine, upstream) => {
        await engine.chat?.doGenerate({
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'hi' },
          ],
          maxTokens: 64,
          temperature: 0.5,
          topK: 5,
          stop: ['END'],
          extra: { enable_search: true },
        });
        const request = upstream.requests.at(-1);
        assert.equal(request?.path, '/api/v1/services/aigc/text-generation/generation');
        assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
        assert.equal(request?.headers['x-dashscope-sse'], undefined);
        assert.deepEqual(request?.body, {
          model: 'qwen-max',
          input: {
            messages: [
              { role: 'system', content: 'be brief' },
              { role: 'user', content: 'hi' },
            ],
          },
          parameters: {
            result_format: 'message',
            max_tokens: 64,
            temperature: 0.5,
            top_k: 5,
            stop: ['END'],
            enable_search: true,
          },
        });
      },
      { 'saas.model': 'qwen-max' },
    );
  });

  test('streams send X-DashScope-SSE and incremental_output; cumulative output is diffed', async () => {
    await withQianwen(async (engine, upstream) => {
      assert.ok(engine.chat);
      const incremental = await collectStream(
        await engine.chat.doStream({ messages: [{ role: 'user', content: 'a b c' }] }),
      );
      assert.equal(incremental.text, 'echo: a b c');
      const request = upstream.requests.at(-1);
      assert.equal(request?.headers['x-dashscope-sse'], 'enable');
      assert.equal(
        (bodyOf(request) as { parameters: Record<string, unknown> }).parameters.incremental_output,
        true,
      );
      const cumulative = await collectStream(
        await engine.chat.doStream({
          messages: [{ role: 'user', content: 'a b c' }],
          extra: { incremental_output: false },
        }),
      );
      assert.equal(cumulative.text, 'echo: a b c');
    });
  });

  test('saas.enable_search sets a deployment default; unknown saas keys are warned by name', async () => {
    const upstream = await startDashScopeUpstream(API_KEY);
    const warnings: string[] = [];
    const engine = await engineFor(
      upstream.url,
      { 'saas.enable_search': 'true', 'saas.colour': 'red' },
      false,
      warnings,
    );
    try {
      await engine.chat?.doGenerate({ messages: [{ role: 'user', content: 'x' }] });
      const body = bodyOf(upstream.requests.at(-1)) as { parameters: Record<string, unknown> };
      assert.equal(body.parameters.enable_search, true);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? '', /saas\.colour/);
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('text-embedding-v2: input.texts in batches of 25, ordered', async () => {
    await withQianwen(
      async (engine, upstream) => {
        assert.equal(engine.meta.embedding_mode, true);
        const values = Array.from({ length: 30 }, (_, index) => `text ${index}`);
        const result = await engine.embedding?.doEmbed({ values });
        assert.equal(result?.embeddings.length, 30);
        assert.equal(upstream.requests.length, 2);
        const first = upstream.requests[0];
        assert.equal(first?.path, '/api/v1/services/embeddings/text-embedding/text-embedding');
        assert.deepEqual((bodyOf(first) as { model: string }).model, 'text-embedding-v2');
        assert.equal((bodyOf(first) as { input: { texts: string[] } }).input.texts.length, 25);
        assert.equal(result?.usage.inputTokens, 60);
      },
      { 'saas.model': 'text-embedding-v2' },
    );
  });
});

describe('saas/qianwen_vl wire protocol', () => {
  test('image parts go to the multimodal endpoint as {image} and {text} items', async () => {
    await withQianwen(
      async (engine, upstream) => {
        const result = await engine.chat?.doGenerate({
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image', url: 'https://example.com/cat.png' },
                { type: 'text', text: 'what is this' },
              ],
            },
          ],
        });
        assert.equal(result?.text, 'echo: what is this');
        const request = upstream.requests.at(-1);
        assert.equal(request?.path, '/api/v1/services/aigc/multimodal-generation/generation');
        assert.deepEqual((bodyOf(request) as { input: unknown }).input, {
          messages: [
            { role: 'user', content: [{ image: 'https://example.com/cat.png' }, { text: 'what is this' }] },
          ],
        });
        assert.equal((bodyOf(request) as { model: string }).model, 'qwen-vl-plus');
      },
      {},
      true,
    );
  });
});

function bodyOf(request: { body: unknown } | undefined): unknown {
  assert.ok(request, 'the upstream received a request');
  return request.body;
}
