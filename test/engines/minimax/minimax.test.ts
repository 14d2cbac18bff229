/**
 * saas/minimax against a local chatcompletion_pro stand-in. The shared chat conformance suite is not
 * run: MiniMax reports only `total_tokens`, so its input-token assertion cannot hold; the same
 * behaviours (stream framing, abort, error codes, dropped connections) are asserted here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamPart } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createMiniMaxEngine } from '../../../src/engines/minimax/minimax-provider.js';
import { type MiniMaxUpstream, startMiniMaxUpstream } from '../../support/minimax-upstream.js';

const API_KEY = 'minimax-secret-key-321';
const GROUP_ID = 'group-1700';

async function withMiniMax(
  body: (engine: EngineInstance, upstream: MiniMaxUpstream) => Promise<void>,
  params: Record<string, string> = {},
): Promise<void> {
  const upstream = await startMiniMaxUpstream(API_KEY, GROUP_ID);
  const spec = deploymentSpecSchema.parse({
    name: 'abab',
    pretrainedModelType: 'saas/minimax',
    inferParams: {
      'saas.api_key': API_KEY,
      'saas.group_id': GROUP_ID,
      'saas.base_url': upstream.url,
      'saas.max_retries': '0',
      ...params,
    },
  });
  const engine = await createMiniMaxEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });

describe('saas/minimax', () => {
  test('system becomes bot_setting; GroupId and sender names are sent', async () => {
    await withMiniMax(async (engine, upstream) => {
      const result = await engine.chat?.doGenerate({
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'how are you' },
        ],
        maxTokens: 50,
      });
      assert.equal(result?.text, 'echo: how are you');
      assert.equal(result?.finishReason, 'stop');
      assert.ok((result?.usage.outputTokens ?? 0) > 0);
      const request = upstream.requests.at(-1);
      assert.equal(request?.query.get('GroupId'), GROUP_ID);
      assert.deepEqual(request?.body, {
        model: 'abab5.5-chat',
        messages: [
          { sender_type: 'USER', sender_name: '用户', text: 'hi' },
          { sender_type: 'BOT', sender_name: 'MM智能助理', text: 'hello' },
          { sender_type: 'USER', sender_name: '用户', text: 'how are you' },
        ],
        bot_setting: [{ bot_name: 'MM智能助理', content: 'You are terse.' }],
        reply_constraints: { sender_type: 'BOT', sender_name: 'MM智能助理' },
        tokens_to_generate: 50,
      });
    });
  });

  test('a stream gives deltas that join to the reply, the repeated last reply is not emitted twice', async () => {
    await withMiniMax(
      async (engine) => {
        assert.ok(engine.chat);
        const parts: StreamPart[] = [];
        for await (const part of await engine.chat.doStream(ask('one two three'))) parts.push(part);
        assert.equal(parts[0]?.type, 'response-metadata');
        const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
        assert.equal(text, 'echo: one two three');
        assert.ok(parts.filter((part) => part.type === 'text-delta').length > 1);
        assert.equal(parts.at(-1)?.type, 'finish');
      },
      { 'saas.bot_name': 'Helper' },
    );
  });

  test('base_resp codes map: 1004 auth, 1002 rate limit (retryable), 1013 retryable before streaming', async () => {
    await withMiniMax(async (engine) => {
      assert.ok(engine.chat);
      await assert.rejects(engine.chat.doGenerate(ask('fail:401')), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'upstream_auth');
        assert.ok(!error.message.includes(API_KEY));
        return true;
      });
      await assert.rejects(engine.chat.doGenerate(ask('fail:429')), {
        code: 'upstream_rate_limit',
        isRetryable: true,
      });
      await assert.rejects(engine.chat.doStream(ask('fail:500')), {
        code: 'upstream_error',
        isRetryable: true,
      });
    });
  });

  test('a 1002 rate limit in a 200 body is retried (saas.max_retries), a 2013 is not', async () => {
    await withMiniMax(
      async (engine, upstream) => {
        assert.ok(engine.chat);
        upstream.failNext(1002, 1002);
        const result = await engine.chat.doGenerate(ask('after two limits'));
        assert.equal(result.text, 'echo: after two limits');
        assert.equal(upstream.requests.length, 3);
        upstream.failNext(2013);
        await assert.rejects(engine.chat.doGenerate(ask('bad')), { code: 'upstream_bad_request' });
        assert.equal(upstream.requests.length, 4, 'a bad request is not retried');
      },
      { 'saas.max_retries': '2' },
    );
  });

  test('aborting mid-stream ends with aborted and closes the upstream request; a cut ends with one error', async () => {
    await withMiniMax(async (engine, upstream) => {
      assert.ok(engine.chat);
      const controller = new AbortController();
      const parts: StreamPart[] = [];
      for await (const part of await engine.chat.doStream(ask('chunk-delay:100 a b c d e f'), {
        signal: controller.signal,
      })) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }
      const last = parts.at(-1);
      assert.equal(last?.type === 'error' ? last.error.code : last?.type, 'aborted');
      await upstream.waitUntil(() => upstream.abortedCount() >= 1);
      const cut: StreamPart[] = [];
      for await (const part of await engine.chat.doStream(ask('cut: x y z'))) cut.push(part);
      assert.equal(cut.at(-1)?.type, 'error');
      assert.equal(cut.filter((part) => part.type === 'finish').length, 0);
    });
  });
});
