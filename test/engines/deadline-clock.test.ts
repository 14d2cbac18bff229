/**
 * The request deadline's shared clock and its lazily created `AbortController`: one timer for every
 * running deadline, no controller per upstream request, and the same aborts and errors as one
 * timer and one controller per request gave. Against the local OpenAI stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ByzerLLMError, upstreamErrorFromStatus } from '../../src/core/index.js';
import { HttpClient } from '../../src/engines/shared/http-client.js';
import { deadlineClock, RequestDeadline } from '../../src/engines/shared/request-deadline.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;

before(async () => {
  upstream = await startOpenAIUpstream();
});

after(async () => {
  await upstream?.close();
});

function client(deadlineMs: number): HttpClient {
  return new HttpClient({
    provider: 'saas/openai',
    baseUrl: upstream.url,
    headers: { authorization: `Bearer ${upstream.apiKey}` },
    timeoutMs: 60_000,
    maxRetries: 0,
    deadlineMs,
    errorFromResponse: (response) =>
      upstreamErrorFromStatus({
        provider: 'saas/openai',
        status: response.status,
        message: response.bodyText,
      }),
  });
}

function chat(text: string) {
  return { model: 'gpt-test', messages: [{ role: 'user', content: text }] };
}

test('every request leaves the clock: answered, streamed, failed and aborted ones alike', async () => {
  upstream.reset();
  const http = client(60_000);
  assert.equal(deadlineClock.size, 0);
  await Promise.all(
    Array.from({ length: 8 }, (_, index) => http.postJson('/chat/completions', chat(`hi ${index}`))),
  );
  assert.equal(deadlineClock.size, 0);

  const stream = await http.postEventStream('/chat/completions', { ...chat('one two'), stream: true });
  // The stream started: its clock stopped although the events are not read yet.
  assert.equal(deadlineClock.size, 0);
  for await (const _event of stream.events);

  upstream.failNext({ status: 400 });
  await assert.rejects(http.postJson('/chat/completions', chat('bad')), { code: 'upstream_bad_request' });
  const controller = new AbortController();
  const pending = http.postJson('/chat/completions', chat('delay:20000 slow'), { signal: controller.signal });
  await upstream.waitUntil(() => upstream.inFlight() === 1);
  assert.equal(deadlineClock.size, 1);
  controller.abort();
  await assert.rejects(pending, { code: 'aborted' });
  assert.equal(deadlineClock.size, 0);
  await upstream.waitUntil(() => upstream.inFlight() === 0);
  assert.equal(upstream.abortedCount(), 1);
  await http.close();
});

test('a short deadline started after a long one still ends on time (the clock re-arms earlier)', async () => {
  upstream.reset();
  const long = client(60_000);
  const short = client(300);
  const caller = new AbortController();
  const slow = long.postJson('/chat/completions', chat('delay:20000 long'), { signal: caller.signal });
  const slowOutcome = slow.then(
    () => 'answered',
    (error: ByzerLLMError) => error.code,
  );
  await upstream.waitUntil(() => upstream.inFlight() === 1);
  const started = Date.now();
  await assert.rejects(
    short.postJson('/chat/completions', chat('delay:20000 short')),
    (error: ByzerLLMError) => {
      assert.equal(error.code, 'timeout');
      assert.match(error.message, /did not answer within 0\.3 s \(saas\.deadline/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5_000);
  // The long request is untouched by the short one's expiry and still running.
  assert.equal(deadlineClock.size, 1);
  await upstream.waitUntil(() => upstream.inFlight() === 1);
  assert.equal(upstream.abortedCount(), 1);
  caller.abort();
  assert.equal(await slowOutcome, 'aborted');
  assert.equal(deadlineClock.size, 0);
  await long.close();
  await short.close();
});

test('the signal created after an abort is already aborted, with the same reason, and so are both views', () => {
  const caller = new AbortController();
  const deadline = new RequestDeadline(60_000, caller.signal);
  let emitted = 0;
  deadline.upstreamSignal.once('abort', () => emitted++);
  const reason = new Error('the client went away');
  caller.abort(reason);
  assert.equal(emitted, 1);
  assert.equal(deadline.aborted, true);
  assert.equal(deadline.expired, false);
  assert.equal(deadline.upstreamSignal.reason, reason);
  assert.equal(deadline.signal.aborted, true);
  assert.equal(deadline.signal.reason, reason);
  deadline.dispose();
  assert.equal(deadlineClock.size, 0);
});

test('a signal taken before the deadline passes aborts with a TimeoutError when it does', async () => {
  const deadline = new RequestDeadline(50);
  const signal = deadline.signal;
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  assert.equal(deadline.expired, true);
  assert.equal((signal.reason as ByzerLLMError).code, 'timeout');
  assert.equal(deadline.upstreamSignal.aborted, true);
  assert.equal(deadline.remainingMs(), 0);
  assert.equal(deadlineClock.size, 0);
});

test('a cleared deadline never expires, but the caller abort still reaches it', async () => {
  const caller = new AbortController();
  const deadline = new RequestDeadline(30, caller.signal);
  deadline.clear();
  assert.equal(deadlineClock.size, 0);
  // Another deadline that does pass, to know the clock ran past the cleared one's end.
  const witness = new RequestDeadline(60);
  await new Promise<void>((resolve) =>
    witness.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  assert.equal(deadline.expired, false);
  assert.equal(deadline.aborted, false);
  caller.abort();
  assert.equal(deadline.signal.aborted, true);
  deadline.dispose();
});
