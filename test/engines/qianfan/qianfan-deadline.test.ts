/**
 * `saas.deadline` covers the retries of vendor codes reported in 200 bodies as well as the HTTP
 * client's own: a Qianfan stand-in that answers a retryable code (336100) forever ends the request
 * at the deadline, although `saas.max_retries` would allow minutes of attempts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectStream } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { ByzerLLMError } from '../../../src/core/errors.js';
import { createQianfanEngine } from '../../../src/engines/qianfan/qianfan-provider.js';
import { startQianfanUpstream } from '../../support/qianfan-upstream.js';

const API_KEY = 'qianfan-ak-1234';
const SECRET_KEY = 'qianfan-sk-secret-5678';
const DEADLINE_MS = 2_500;
// Each attempt takes 400 ms; 50 retries with backoff would take minutes without the shared budget.
const PROMPT = 'delay:400 fail:500 hello';

for (const mode of ['generate', 'stream'] as const) {
  test(`qianfan ${mode}: a vendor code retried forever ends at saas.deadline, not after max_retries`, async () => {
    const upstream = await startQianfanUpstream(API_KEY, SECRET_KEY);
    const spec = deploymentSpecSchema.parse({
      name: 'ernie',
      pretrainedModelType: 'saas/qianfan',
      inferParams: {
        'saas.api_key': API_KEY,
        'saas.secret_key': SECRET_KEY,
        'saas.base_url': upstream.url,
        'saas.max_retries': '50',
        'saas.deadline': String(DEADLINE_MS / 1000),
      },
    });
    const engine = await createQianfanEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
    try {
      const chat = engine.chat;
      assert.ok(chat);
      const request = { messages: [{ role: 'user' as const, content: PROMPT }] };
      const started = Date.now();
      await assert.rejects(
        mode === 'generate'
          ? chat.doGenerate(request)
          : chat.doStream(request).then((parts) => collectStream(parts)),
        (error: ByzerLLMError) => {
          // Either the deadline cut an attempt (timeout, not retryable: the budget is spent) or the
          // next backoff would have ended past it and the last vendor failure is reported.
          if (error.code === 'timeout') {
            assert.equal(error.isRetryable, false);
            assert.match(error.message, /did not answer within 2\.5 s \(saas\.deadline/);
          } else {
            assert.equal(error.code, 'upstream_error');
            assert.equal(error.details.vendorCode, 336100);
          }
          return true;
        },
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed < DEADLINE_MS + 1_500, `the request ended after ${elapsed} ms`);
      const chatCalls = upstream.requests.filter((request) => request.path.includes('/wenxinworkshop/chat/'));
      assert.ok(chatCalls.length >= 2, `retried the vendor code (${chatCalls.length} chat calls)`);
      // Attempts stop with the request: nothing keeps calling the upstream after the caller got its error.
      const after = upstream.requests.length;
      await upstream.waitUntil(() => upstream.inFlight() === 0);
      assert.equal(upstream.requests.length, after);
    } finally {
      await engine.dispose();
      await upstream.close();
    }
  });
}
