/** saas/qianfan against a local Qianfan stand-in: token exchange, ERNIE chat, SSE, error codes in 200 bodies. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectStream } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createQianfanEngine } from '../../../src/engines/qianfan/qianfan-provider.js';
import { type QianfanUpstream, startQianfanUpstream } from '../../support/qianfan-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';

const API_KEY = 'qianfan-ak-1234';
const SECRET_KEY = 'qianfan-sk-secret-5678';

function engineFor(baseUrl: string, params: Record<string, string> = {}): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'ernie',
    pretrainedModelType: 'saas/qianfan',
    inferParams: {
      'saas.api_key': API_KEY,
      'saas.secret_key': SECRET_KEY,
      'saas.base_url': baseUrl,
      'saas.max_retries': '0',
      ...params,
    },
  });
  return createQianfanEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
}

async function withQianfan(
  body: (engine: EngineInstance, upstream: QianfanUpstream) => Promise<void>,
  params: Record<string, string> = {},
): Promise<void> {
  const upstream = await startQianfanUpstream(API_KEY, SECRET_KEY);
  const engine = await engineFor(upstream.url, params);
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

runChatModelConformance('saas/qianfan', async (setup) => {
  const upstream = await startQianfanUpstream(API_KEY, SECRET_KEY);
  const engine = await engineFor(setup.unreachableBaseUrl ?? upstream.url);
  assert.ok(engine.chat);
  return {
    model: engine.chat,
    apiKey: SECRET_KEY,
    whenUpstreamAborted: (count) => upstream.waitUntil(() => upstream.abortedCount() >= count),
    async close() {
      await engine.dispose();
      await upstream.close();
    },
  };
});

describe('saas/qianfan', () => {
  test('exchanges api_key+secret_key once, caches the token, and posts ERNIE-Bot-turbo to eb-instant', async () => {
    await withQianfan(async (engine, upstream) => {
      await Promise.all(
        [1, 2, 3].map((n) => engine.chat?.doGenerate({ messages: [{ role: 'user', content: `q${n}` }] })),
      );
      await engine.chat?.doGenerate({ messages: [{ role: 'user', content: 'again' }] });
      assert.equal(upstream.exchanges(), 1, 'one exchange for concurrent and later calls');
      const chat = upstream.requests.at(-1);
      assert.equal(chat?.path, '/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant');
      assert.equal(chat?.query.get('access_token'), '24.qianfan-token-1.2592000.1700000000');
    });
  });

  test('system goes to the system field; turns alternate and start with user', async () => {
    await withQianfan(async (engine, upstream) => {
      const result = await engine.chat?.doGenerate({
        messages: [
          { role: 'system', content: 'be kind' },
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
          { role: 'assistant', content: 'c' },
          { role: 'user', content: 'd' },
        ],
        temperature: 0.3,
        maxTokens: 100,
      });
      assert.equal(result?.text, 'echo: d');
      assert.deepEqual(upstream.requests.at(-1)?.body, {
        messages: [
          { role: 'user', content: 'a\nb' },
          { role: 'assistant', content: 'c' },
          { role: 'user', content: 'd' },
        ],
        system: 'be kind',
        temperature: 0.3,
        max_output_tokens: 100,
      });
    });
  });

  test('an expired token (111) is exchanged again and the request repeated, also for streams', async () => {
    await withQianfan(async (engine, upstream) => {
      assert.ok(engine.chat);
      await engine.chat.doGenerate({ messages: [{ role: 'user', content: 'first' }] });
      upstream.expireTokens();
      const result = await engine.chat.doGenerate({ messages: [{ role: 'user', content: 'second' }] });
      assert.equal(result.text, 'echo: second');
      assert.equal(upstream.exchanges(), 2);
      upstream.expireTokens();
      const streamed = await collectStream(
        await engine.chat.doStream({ messages: [{ role: 'user', content: 'third' }] }),
      );
      assert.equal(streamed.text, 'echo: third');
      assert.equal(upstream.exchanges(), 3);
    });
  });

  test('wrong credentials fail with upstream_auth naming the OAuth error, without the secret', async () => {
    const upstream = await startQianfanUpstream(API_KEY, 'another-secret');
    const engine = await engineFor(upstream.url);
    try {
      await assert.rejects(
        engine.chat?.doGenerate({ messages: [{ role: 'user', content: 'x' }] }) ?? Promise.resolve(),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'upstream_auth');
          assert.match(error.message, /invalid_client/);
          assert.ok(!error.message.includes(SECRET_KEY));
          return true;
        },
      );
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });

  test('Embedding-V1 embeds through the embeddings endpoint in batches of 16', async () => {
    await withQianfan(
      async (engine, upstream) => {
        const result = await engine.embedding?.doEmbed({
          values: Array.from({ length: 20 }, (_, index) => `t${index}`),
        });
        assert.equal(result?.embeddings.length, 20);
        const embeddingCalls = upstream.requests.filter((request) =>
          request.path.includes('/embeddings/embedding-v1'),
        );
        assert.equal(embeddingCalls.length, 2);
      },
      { 'saas.model': 'Embedding-V1' },
    );
  });
});
