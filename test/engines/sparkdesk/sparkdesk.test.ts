/** saas/sparkdesk against a local Spark WebSocket stand-in that verifies the HMAC-signed URL. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { domainForUrl } from '../../../src/engines/sparkdesk/signed-url.js';
import { createSparkDeskEngine } from '../../../src/engines/sparkdesk/sparkdesk-provider.js';
import { type SparkUpstream, startSparkUpstream } from '../../support/spark-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';

const APP_ID = 'spark-app-1';
const API_KEY = 'spark-key-abc';
const API_SECRET = 'spark-secret-xyz-987';

function engineFor(gptUrl: string, params: Record<string, string> = {}): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'spark',
    pretrainedModelType: 'saas/sparkdesk',
    inferParams: {
      'saas.appid': APP_ID,
      'saas.api_key': API_KEY,
      'saas.api_secret': API_SECRET,
      'saas.gpt_url': gptUrl,
      'saas.max_retries': '0',
      ...params,
    },
  });
  return createSparkDeskEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
}

async function withSpark(
  body: (engine: EngineInstance, upstream: SparkUpstream) => Promise<void>,
  params: Record<string, string> = {},
  secret = API_SECRET,
): Promise<void> {
  const upstream = await startSparkUpstream(APP_ID, API_KEY, secret);
  const engine = await engineFor(upstream.gptUrl, params);
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

runChatModelConformance('saas/sparkdesk', async (setup) => {
  const upstream = await startSparkUpstream(APP_ID, API_KEY, API_SECRET);
  // An unreachable URL keeps the version path so the domain is still known.
  const gptUrl = setup.unreachableBaseUrl ? `${setup.unreachableBaseUrl}/v3.1/chat` : upstream.gptUrl;
  const engine = await engineFor(gptUrl);
  assert.ok(engine.chat);
  return {
    model: engine.chat,
    apiKey: API_SECRET,
    whenUpstreamAborted: (count) => upstream.waitUntil(() => upstream.abortedCount() >= count),
    async close() {
      await engine.dispose();
      await upstream.close();
    },
  };
});

describe('saas/sparkdesk', () => {
  test('the first frame carries app_id, domain generalv3, sampling settings and the messages', async () => {
    await withSpark(async (engine, upstream) => {
      const result = await engine.chat?.doGenerate({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: '你好' },
        ],
        temperature: 0.5,
        maxTokens: 256,
      });
      assert.equal(result?.text, 'echo: 你好');
      assert.ok((result?.usage.inputTokens ?? 0) > 0);
      const frame = upstream.frames.at(-1) as {
        header: { app_id: string };
        parameter: unknown;
        payload: unknown;
      };
      assert.equal(frame.header.app_id, APP_ID);
      assert.deepEqual(frame.parameter, {
        chat: { domain: 'generalv3', auditing: 'default', temperature: 0.5, max_tokens: 256 },
      });
      assert.deepEqual(frame.payload, {
        message: {
          text: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: '你好' },
          ],
        },
      });
    });
  });

  test('a wrong api secret fails the handshake as upstream_auth, without leaking the secret', async () => {
    await withSpark(
      async (engine) => {
        await assert.rejects(
          engine.chat?.doGenerate({ messages: [{ role: 'user', content: 'x' }] }) ?? Promise.resolve(),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, 'upstream_auth');
            assert.match(error.message, /HMAC signature does not match/);
            assert.ok(!error.message.includes(API_SECRET));
            return true;
          },
        );
      },
      {},
      'the-server-knows-another-secret',
    );
  });

  test('concurrent requests each get their own socket and their own answer', async () => {
    await withSpark(async (engine, upstream) => {
      const questions = ['alpha chunk-delay:20', 'beta chunk-delay:10', 'gamma', 'delta chunk-delay:5'];
      const answers = await Promise.all(
        questions.map((question) =>
          engine.chat?.doGenerate({ messages: [{ role: 'user', content: question }] }),
        ),
      );
      assert.deepEqual(
        answers.map((answer) => answer?.text),
        questions.map((question) => `echo: ${question}`),
      );
      assert.ok(upstream.peakSockets() > 1, 'the requests overlapped on separate sockets');
    });
  });

  test('dispose closes the sockets of requests still in flight', async () => {
    await withSpark(async (engine, upstream) => {
      assert.ok(engine.chat);
      const parts: string[] = [];
      for await (const part of await engine.chat.doStream({
        messages: [{ role: 'user', content: 'chunk-delay:100 a b c d e' }],
      })) {
        parts.push(part.type);
        if (part.type === 'text-delta' && parts.filter((type) => type === 'text-delta').length === 1) {
          await engine.dispose();
        }
      }
      assert.equal(parts.at(-1), 'error');
      await upstream.waitUntil(() => upstream.abortedCount() >= 1);
    });
  });

  test('domains follow the URL version: v1.1 general (Spark 1.5), v2.1 generalv2, v3.5 generalv3.5', () => {
    assert.equal(domainForUrl('wss://spark-api.xf-yun.com/v1.1/chat'), 'general');
    assert.equal(domainForUrl('wss://spark-api.xf-yun.com/v2.1/chat'), 'generalv2');
    assert.equal(domainForUrl('wss://spark-api.xf-yun.com/v3.5/chat'), 'generalv3.5');
  });
});
