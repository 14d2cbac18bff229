/**
 * `saas.deadline`: one total budget per upstream request across its attempts, against the local
 * OpenAI stand-in. Idle timeouts alone let retries hold a request for half an hour.
 *
 * Also the deadline's shared clock and its lazily created `AbortController`: one timer for every
 * running deadline, no controller per upstream request, and the same aborts and errors as one
 * timer and one controller per request gave.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ByzerLLMError, upstreamErrorFromStatus } from '../../src/core/index.js';
import { HttpClient } from '../../src/engines/shared/http-client.js';
import { deadlineClock, RequestDeadline } from '../../src/engines/shared/request-deadline.js';
import { callWithRetries } from '../../src/engines/shared/retry-loop.js';
import { defineProviderOptions, transportOf } from '../../src/engines/shared/provider-options.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;

before(async () => {
  upstream = await startOpenAIUpstream();
});

after(async () => {
  await upstream?.close();
});

function client(deadlineMs: number, maxRetries: number): HttpClient {
  return new HttpClient({
    provider: 'saas/openai',
    baseUrl: upstream.url,
    headers: { authorization: `Bearer ${upstream.apiKey}` },
    timeoutMs: 60_000,
    maxRetries,
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

test('saas.deadline is read with the other transport parameters, 600 s by default', () => {
  const options = defineProviderOptions('saas/test', {});
  const read = (inferParams: Record<string, string>) => transportOf(options.parse(inferParams, () => {}));
  assert.equal(read({}).deadlineMs, 600_000);
  assert.equal(read({ 'saas.deadline': '2.5' }).deadlineMs, 2500);
  assert.throws(
    () => read({ 'saas.deadline': '0' }),
    /saas.deadline must be a number of seconds > 0, got "0"/,
  );
});

test('a silent upstream is cut at the deadline with a timeout that is not retried again', async () => {
  upstream.reset();
  const http = client(800, 5);
  const started = Date.now();
  await assert.rejects(
    http.postJson('/chat/completions', chat('delay:20000 slow')),
    (error: ByzerLLMError) => {
      assert.equal(error.code, 'timeout');
      assert.equal(error.isRetryable, false);
      assert.match(
        error.message,
        /saas\/openai at http:\/\/127\.0\.0\.1:\d+\/v1 did not answer within 0\.8 s \(saas\.deadline/,
      );
      return true;
    },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
  // One attempt, cut: the idle timeout (60 s) never came into play, and no retry followed.
  assert.equal(upstream.requests.length, 1);
  await upstream.waitUntil(() => upstream.inFlight() === 0);
  assert.equal(upstream.abortedCount(), 1);
  await http.close();
});

test('no retry starts whose backoff would end past the deadline', async () => {
  upstream.reset();
  upstream.failNext(...Array.from({ length: 10 }, () => ({ status: 503, retryAfter: '1' })));
  const http = client(1_500, 10);
  await assert.rejects(http.postJson('/chat/completions', chat('hello')), (error: ByzerLLMError) => {
    assert.equal(error.code, 'upstream_overloaded');
    return true;
  });
  // 503 at 0 s, wait 1 s, 503 at 1 s; the next wait would end at 2 s > 1.5 s.
  assert.equal(upstream.requests.length, 2);
  await http.close();
});

test('a stream that started is not cut by the deadline: it runs on while chunks keep coming', async () => {
  upstream.reset();
  const http = client(600, 0);
  const body = { ...chat('chunk-delay:150 one two three four five six'), stream: true };
  const response = await http.postEventStream('/chat/completions', body);
  const started = Date.now();
  const data: string[] = [];
  for await (const event of response.events) data.push(event.data);
  assert.ok(Date.now() - started > 600, 'the stream outlived the deadline');
  assert.equal(data.at(-1), '[DONE]');
  await http.close();
});

test('callWithRetries (SDK providers) has the same deadline; the attempt gets a signal that aborts', async () => {
  let attempts = 0;
  const started = Date.now();
  await assert.rejects(
    callWithRetries(
      (deadline) =>
        new Promise((_resolve, reject) => {
          attempts++;
          deadline.signal.addEventListener('abort', () => reject(new Error('aborted by the deadline')), {
            once: true,
          });
        }),
      {
        maxRetries: 3,
        deadlineMs: 300,
        describe: 'saas/aws_bedrock at https://bedrock.test',
        toError: (error) => upstreamErrorFromStatus({ provider: 'x', status: 500, message: String(error) }),
      },
    ),
    (error: ByzerLLMError) => {
      assert.equal(error.code, 'timeout');
      assert.equal(error.isRetryable, false);
      assert.match(
        error.message,
        /saas\/aws_bedrock at https:\/\/bedrock\.test did not answer within 0\.3 s/,
      );
      return true;
    },
  );
  assert.equal(attempts, 1);
  assert.ok(Date.now() - started < 3_000);
});

test('every request leaves the clock: answered, streamed, failed and aborted ones alike', async () => {
  upstream.reset();
  const http = client(60_000, 0);
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
  const long = client(60_000, 0);
  const short = client(300, 0);
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
