/**
 * The one retry loop (`shared/retry-loop.ts`): nested loops share one deadline, and the vendor-code
 * loop retries only failures a vendor reported in a 2xx body.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ByzerLLMError, UpstreamError } from '../../src/core/errors.js';
import { callWithRetries } from '../../src/engines/shared/retry-loop.js';
import { retryVendorErrors, vendorError } from '../../src/engines/shared/vendor-error.js';

const quickRetry = { initialDelayMs: 5, maxDelayMs: 20 };

test('an inner loop given the outer deadline spends the same budget: the whole nest ends at it', async () => {
  let innerCalls = 0;
  const started = Date.now();
  await assert.rejects(
    callWithRetries(
      (deadline) =>
        callWithRetries(
          async () => {
            innerCalls++;
            throw new UpstreamError('upstream_error', 'still failing', { isRetryable: true });
          },
          { maxRetries: 1_000_000, deadline, retry: quickRetry, toError: (error) => error as ByzerLLMError },
        ),
      {
        maxRetries: 1_000_000,
        deadlineMs: 300,
        describe: 'the stand-in',
        retry: quickRetry,
        toError: (error) => error as ByzerLLMError,
      },
    ),
    (error: ByzerLLMError) => {
      // Cut during a wait (timeout) or refused a retry whose wait would end past the deadline.
      assert.ok(['timeout', 'upstream_error'].includes(error.code), error.code);
      if (error.code === 'timeout') assert.equal(error.isRetryable, false);
      return true;
    },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2_000, `the nest ended after ${elapsed} ms`);
  assert.ok(innerCalls > 1, `the inner loop retried (${innerCalls} calls)`);
});

test('vendor retries repeat codes reported in 2xx bodies, not failures the HTTP client already retried', async () => {
  const client = { deadlineMs: 10_000, describe: () => 'saas/qianfan at http://127.0.0.1' };
  let vendorCalls = 0;
  const answer = await retryVendorErrors({ maxRetries: 3, client }, async () => {
    vendorCalls++;
    if (vendorCalls < 3)
      throw vendorError({ provider: 'saas/qianfan', kind: 'server', vendorCode: 336100, message: 'busy' });
    return 'ok';
  });
  assert.equal(answer, 'ok');
  assert.equal(vendorCalls, 3);

  let httpCalls = 0;
  await assert.rejects(
    retryVendorErrors({ maxRetries: 3, client }, async () => {
      httpCalls++;
      throw new UpstreamError('upstream_error', 'HTTP 503', { isRetryable: true });
    }),
    /HTTP 503/,
  );
  assert.equal(httpCalls, 1);
});

test('an abort by the caller stops the loop with aborted, not a retry', async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    callWithRetries(
      async () => {
        calls++;
        controller.abort();
        throw new UpstreamError('upstream_error', 'failing', { isRetryable: true });
      },
      {
        maxRetries: 5,
        signal: controller.signal,
        retry: quickRetry,
        toError: (error) => error as ByzerLLMError,
      },
    ),
    (error: ByzerLLMError) => error.code === 'aborted',
  );
  assert.equal(calls, 1);
});
