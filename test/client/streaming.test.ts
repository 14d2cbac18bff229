/**
 * Chat and streaming through `ByzerLLM`, in-process and over the head's admin HTTP API: the streamed
 * text equals the non-stream answer in delta and cumulative modes (reasoning too), and cancelling —
 * an AbortSignal or leaving the loop — stops the upstream request.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { ByzerLLM } from '../../src/client/index.js';
import { createAdminApi } from '../../src/cluster/index.js';
import { AbortedError } from '../../src/core/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

const setups: Record<string, (fixture: ClientFixture) => Promise<{ llm: ByzerLLM; close(): Promise<void> }>> =
  {
    'in-process head': async (fixture) => ({ llm: fixture.llm, close: async () => {} }),
    'head over HTTP (address + token)': async (fixture) => {
      const app = createAdminApi({ cluster: fixture.head, token: 'client-test-token' });
      const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const llm = ByzerLLM.fromDefaultModel('chat', { address, token: 'client-test-token' });
      return {
        llm,
        close: async () => {
          await llm.close();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    },
  };

for (const [name, setup] of Object.entries(setups)) {
  describe(`chat and streams: ${name}`, () => {
    let fixture: ClientFixture;
    let llm: ByzerLLM;
    let closeSetup: () => Promise<void>;
    before(async () => {
      fixture = await startClientFixture();
      const created = await setup(fixture);
      llm = created.llm;
      closeSetup = created.close;
    });
    after(async () => {
      await closeSetup();
      await fixture.close();
    });

    test('chatOai maps llmConfig to the request and fills meta', async () => {
      const conversation = [{ role: 'user', content: 'hello there reason:' }];
      const before = JSON.stringify(conversation);
      const [response] = await llm.chatOai({
        conversations: conversation,
        llmConfig: { max_length: 64, temperature: 0.2, top_p: 0.5, 'gen.stop': '["END"]', 'gen.best_of': 2 },
      });
      assert.equal(response!.output, 'echo: hello there reason:');
      assert.equal(response!.meta.reasoning_content, 'thinking about: hello there reason:');
      assert.equal(response!.meta.finish_reason, 'stop');
      assert.equal(response!.meta.input_tokens_count, 3);
      const body = lastChatBody(fixture.upstream);
      assert.equal(body.max_tokens, 64);
      assert.equal(body.temperature, 0.2);
      assert.equal(body.top_p, 0.5);
      assert.deepEqual(body.stop, ['END']);
      assert.equal(body.best_of, 2);
      assert.equal(JSON.stringify(conversation), before, "the caller's conversation is not modified");
    });

    for (const deltaMode of [true, false]) {
      test(`streamChatOai (${deltaMode ? 'delta' : 'cumulative'}) ends with the non-stream text and reasoning`, async () => {
        const conversations = [{ role: 'user', content: 'one two three four five reason:' }];
        const [plain] = await llm.chatOai({ conversations });
        let text = '';
        let reasoning = '';
        let items = 0;
        let last: [string, { finish_reason: string; generated_tokens_count: number }] | undefined;
        for await (const item of llm.streamChatOai({ conversations, deltaMode })) {
          items++;
          const [piece, meta] = item;
          text = deltaMode ? text + piece : piece;
          reasoning = deltaMode ? reasoning + meta.reasoning_content : meta.reasoning_content;
          last = item;
        }
        assert.ok(items > 2, 'the answer came in several pieces');
        assert.equal(text, plain!.output);
        assert.equal(reasoning, plain!.meta.reasoning_content);
        assert.equal(last![1].finish_reason, 'stop');
        assert.equal(last![1].generated_tokens_count, plain!.meta.generated_tokens_count);
      });
    }

    test('aborting a stream with a signal stops the upstream request', async () => {
      fixture.upstream.reset();
      const controller = new AbortController();
      const stream = llm.streamChatOai({
        conversations: 'a long answer chunk-delay:200',
        deltaMode: true,
        signal: controller.signal,
      });
      await assert.rejects(
        (async () => {
          for await (const _item of stream) controller.abort();
        })(),
        AbortedError,
      );
      await fixture.upstream.waitUntil(() => fixture.upstream.abortedCount() === 1);
      assert.equal(fixture.upstream.inFlight(), 0);
    });

    test('leaving the loop early stops the upstream request', async () => {
      fixture.upstream.reset();
      for await (const [piece] of llm.streamChatOai({
        conversations: 'stop me chunk-delay:200',
        deltaMode: true,
      })) {
        assert.equal(typeof piece, 'string');
        break;
      }
      await fixture.upstream.waitUntil(() => fixture.upstream.abortedCount() === 1);
    });

    test('aborting chatOai rejects with AbortedError and stops the upstream request', async () => {
      fixture.upstream.reset();
      const controller = new AbortController();
      const call = llm.chatOai({ conversations: 'slow delay:5000', signal: controller.signal });
      await fixture.upstream.waitUntil(() => fixture.upstream.inFlight() === 1);
      controller.abort();
      await assert.rejects(call, AbortedError);
      await fixture.upstream.waitUntil(() => fixture.upstream.abortedCount() === 1);
    });
  });
}
