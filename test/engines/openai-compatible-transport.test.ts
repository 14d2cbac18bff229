/**
 * The `saas/openai` engine's HTTP behaviour: retries (and Retry-After), timeouts, keep-alive
 * reuse, parallel requests, and closing the upstream request when a consumer stops early.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { collectStream, type StreamPart } from '../../src/core/chat-model.js';
import { ByzerLLMError } from '../../src/core/errors.js';
import { API_KEY, ask, createEngine, withEngine } from './openai-engine-fixture.js';

const hasCode = (code: string) => (error: unknown) => error instanceof ByzerLLMError && error.code === code;

test('a 500 then success with saas.max_retries=1 succeeds after 2 upstream requests', () =>
  withEngine(
    async (engine, upstream) => {
      upstream.failNext({ status: 500, retryAfter: '0' });
      const result = await engine.chat!.doGenerate(ask('retry me'));
      assert.equal(result.text, 'echo: retry me');
      assert.equal(upstream.requests.length, 2);
      assert.deepEqual(
        upstream.requests[0]!.body,
        upstream.requests[1]!.body,
        'the same request is sent again',
      );
    },
    { 'saas.max_retries': '1' },
  ));

test('retries stop at saas.max_retries and surface the last error', () =>
  withEngine(
    async (engine, upstream) => {
      upstream.failNext({ status: 500, retryAfter: '0' }, { status: 503, retryAfter: '0' });
      await assert.rejects(engine.chat!.doGenerate(ask('retry me')), (error: unknown) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.equal(error.code, 'upstream_overloaded', 'a 503 is the provider out of capacity');
        assert.equal(error.details.status, 503);
        return true;
      });
      assert.equal(upstream.requests.length, 2);
    },
    { 'saas.max_retries': '1' },
  ));

test('non-retryable errors (401, 400) are not retried', () =>
  withEngine(
    async (engine, upstream) => {
      await assert.rejects(engine.chat!.doGenerate(ask('fail:401')), hasCode('upstream_auth'));
      await assert.rejects(engine.chat!.doGenerate(ask('fail:400')), hasCode('upstream_bad_request'));
      assert.equal(upstream.requests.length, 2);
    },
    { 'saas.max_retries': '3' },
  ));

test('a 429 stream start is retried; Retry-After from the upstream is honoured', () =>
  withEngine(
    async (engine, upstream) => {
      upstream.failNext({ status: 429, retryAfterMs: '250' });
      const started = performance.now();
      const result = await collectStream(await engine.chat!.doStream(ask('hello again')));
      const elapsed = performance.now() - started;
      assert.equal(result.text, 'echo: hello again');
      assert.equal(upstream.requests.length, 2);
      assert.ok(elapsed >= 240, `waited ${elapsed.toFixed(0)} ms for retry-after-ms 250`);
      assert.ok(elapsed < 2_000, `waited ${elapsed.toFixed(0)} ms, not a default backoff`);
    },
    { 'saas.max_retries': '2' },
  ));

test('the error of an exhausted 429 carries retryAfterSeconds and the OpenAI error body', () =>
  withEngine(async (engine, upstream) => {
    upstream.failNext({ status: 429, retryAfter: '3' });
    await assert.rejects(engine.chat!.doGenerate(ask('hi')), (error: unknown) => {
      assert.ok(error instanceof ByzerLLMError);
      assert.equal(error.code, 'upstream_rate_limit');
      assert.equal(error.details.retryAfterSeconds, 3);
      assert.equal((error.details.body as { error: { code: string } }).error.code, 'rate_limit_exceeded');
      assert.match(error.message, /saas\/openai answered HTTP 429: Rate limit reached/);
      return true;
    });
  }));

test('aborting during a retry backoff stops at once with aborted', () =>
  withEngine(
    async (engine, upstream) => {
      upstream.failNext({ status: 500, retryAfter: '30' });
      const controller = new AbortController();
      const call = engine.chat!.doGenerate(ask('hi'), { signal: controller.signal });
      await upstream.waitUntil(() => upstream.requests.length === 1 && upstream.inFlight() === 0);
      controller.abort();
      await assert.rejects(call, hasCode('aborted'));
      assert.equal(upstream.requests.length, 1);
    },
    { 'saas.max_retries': '2' },
  ));

test('saas.timeout bounds the wait for an answer', () =>
  withEngine(
    async (engine, upstream) => {
      await assert.rejects(engine.chat!.doGenerate(ask('delay:5000 slow')), (error: unknown) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.equal(error.code, 'timeout');
        assert.match(error.message, /0\.2 s \(saas\.timeout\)/);
        return true;
      });
      await upstream.waitUntil(() => upstream.abortedCount() === 1);
    },
    { 'saas.timeout': '0.2' },
  ));

test('a consumer that stops reading a stream closes the upstream request', () =>
  withEngine(async (engine, upstream) => {
    for await (const part of await engine.chat!.doStream(ask('chunk-delay:50 one two three four five'))) {
      if (part.type === 'text-delta') break;
    }
    await upstream.waitUntil(() => upstream.abortedCount() === 1);
  }));

test('connections are kept alive: a finished stream leaves its connection for the next request', () =>
  withEngine(async (engine, upstream) => {
    await collectStream(await engine.chat!.doStream(ask('first')));
    await engine.chat!.doGenerate(ask('second'));
    await engine.embedding!.doEmbed({ values: ['third'] });
    // undici hands a connection back to the pool a tick after the body ends, so the very next
    // request may open a second one; what matters is that the stream's connection is reused.
    const [streamPort, ...laterPorts] = upstream.requests.map((request) => request.remotePort);
    assert.ok(
      laterPorts.includes(streamPort!),
      `the stream's connection ${streamPort} is reused: ${laterPorts.join(', ')}`,
    );
    assert.ok(new Set(laterPorts).size <= 2, 'no connection per request');
    assert.equal(upstream.abortedCount(), 0);
  }));

test('parallel requests run in parallel on the pool', () =>
  withEngine(async (engine, upstream) => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) => engine.chat!.doGenerate(ask(`delay:100 number ${index}`))),
    );
    assert.deepEqual(
      results.map((result) => result.text),
      Array.from({ length: 8 }, (_, index) => `echo: delay:100 number ${index}`),
    );
    assert.equal(upstream.peakInFlight(), 8);
  }));

test('an error chunk inside a 2xx stream becomes an error part without the api key', async () => {
  // A bespoke upstream: a 2xx stream that reports a failure in-band, as OpenAI and vLLM do.
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"par"}}]}\n\n');
    response.end(
      `data: {"error":{"message":"overloaded while serving ${API_KEY}","type":"server_error"}}\n\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const engine = await createEngine({
    'saas.api_key': API_KEY,
    'saas.base_url': `http://127.0.0.1:${port}/v1`,
  });
  try {
    const parts: StreamPart[] = [];
    for await (const part of await engine.chat!.doStream(ask('hi'))) parts.push(part);
    assert.deepEqual(
      parts.map((part) => part.type),
      ['response-metadata', 'text-delta', 'error'],
    );
    const last = parts.at(-1);
    assert.ok(last?.type === 'error');
    assert.equal(last.error.code, 'upstream_error');
    assert.match(last.error.message, /overloaded while serving \*\*\*\*\*\*/);
    assert.equal(JSON.stringify(last.error.toJSON()).includes(API_KEY), false);
  } finally {
    await engine.dispose();
    server.closeAllConnections();
    server.close();
  }
});
