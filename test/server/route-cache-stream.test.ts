/**
 * Streamed answers fill a route's response cache, through the real CLI, head and `byzerllm serve`
 * against a loopback OpenAI upstream that counts its requests: a stream that ran to its finish is
 * stored and the next identical request (streamed or not) never reaches the upstream; a stream the
 * client cancelled halfway, or one that failed, stores nothing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import { setCachedRoute, startServe, streamedContent } from '../support/routed-gateway.js';

describe('streamed answers fill the response cache (real CLI, head, serve, loopback upstream)', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;
  let serve: ChildProcess | undefined;
  let baseURL: string;

  before(async () => {
    // Many small chunks, spaced out, so a client can leave in the middle of a stream.
    upstream = await startOpenAIUpstream({ chunkDelayMs: 20 });
    home = await createTestHome();
    const deployed = await home.run([
      'deploy',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      'saas.model=m',
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
      '--model',
      'steady',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    await setCachedRoute(home, 'steady');
    const started = await startServe(home);
    serve = started.child;
    baseURL = started.baseURL;
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await home.cleanup();
    await upstream.close();
  });

  const ask = (content: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
    fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cached', messages: [{ role: 'user', content }], ...extra }),
      ...(signal ? { signal } : {}),
    });
  const chatRequests = () =>
    upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;

  test('a complete stream is stored: the next identical request, streamed or not, is a hit', async () => {
    const before = chatRequests();
    const first = await ask('fill me by streaming', { stream: true });
    assert.equal(first.headers.get('x-byzerllm-cache'), 'miss');
    assert.equal(streamedContent(await first.text()), 'echo: fill me by streaming');
    assert.equal(chatRequests(), before + 1);

    const streamed = await ask('fill me by streaming', { stream: true });
    assert.equal(streamed.headers.get('x-byzerllm-cache'), 'hit');
    const text = await streamed.text();
    assert.equal(streamedContent(text), 'echo: fill me by streaming');
    assert.ok(text.endsWith('data: [DONE]\n\n'));

    const plain = await ask('fill me by streaming');
    assert.equal(plain.headers.get('x-byzerllm-cache'), 'hit');
    const body = (await plain.json()) as {
      choices: { message: { content: string }; finish_reason: string }[];
    };
    assert.equal(body.choices[0]!.message.content, 'echo: fill me by streaming');
    assert.equal(body.choices[0]!.finish_reason, 'stop');
    assert.equal(chatRequests(), before + 1, 'hits never reach the upstream');
  });

  test('a stream the client left halfway stores nothing', async () => {
    const words = Array.from({ length: 60 }, (_, index) => `w${index}`).join(' ');
    const before = chatRequests();
    const controller = new AbortController();
    const left = await ask(words, { stream: true }, controller.signal);
    assert.equal(left.headers.get('x-byzerllm-cache'), 'miss');
    const reader = left.body!.getReader();
    const firstChunk = await reader.read();
    assert.equal(firstChunk.done, false);
    controller.abort();
    await reader.cancel().catch(() => {});

    const again = await ask(words, { stream: true });
    assert.equal(again.headers.get('x-byzerllm-cache'), 'miss');
    assert.equal(streamedContent(await again.text()), `echo: ${words}`);
    assert.equal(chatRequests(), before + 2);
    // That one ran complete, so it is stored now.
    const third = await ask(words);
    assert.equal(third.headers.get('x-byzerllm-cache'), 'hit');
    await third.json();
    assert.equal(chatRequests(), before + 2);
  });

  test('a stream answered with an error stores nothing', async () => {
    const before = chatRequests();
    upstream.failNext({ status: 500 });
    const failed = await ask('fails first', { stream: true });
    assert.equal(failed.headers.get('x-byzerllm-cache'), 'miss');
    assert.ok(failed.status >= 500, `status ${failed.status}`);
    await failed.text();
    const again = await ask('fails first', { stream: true });
    assert.equal(again.headers.get('x-byzerllm-cache'), 'miss');
    assert.equal(streamedContent(await again.text()), 'echo: fails first');
    assert.equal(chatRequests(), before + 2);
  });
});
