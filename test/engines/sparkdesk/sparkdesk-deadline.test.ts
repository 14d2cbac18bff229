/**
 * SparkDesk's WebSocket connects run through the shared retry loop: a busy code (10110) retried
 * forever ends at `saas.deadline`, not after `saas.max_retries` attempts with backoff.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectStream } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { ByzerLLMError } from '../../../src/core/errors.js';
import { createSparkDeskEngine } from '../../../src/engines/sparkdesk/sparkdesk-provider.js';
import { startSparkUpstream } from '../../support/spark-upstream.js';

const APP_ID = 'spark-app-1';
const API_KEY = 'spark-key-abc';
const API_SECRET = 'spark-secret-xyz-987';
const DEADLINE_MS = 2_000;

test('sparkdesk: a busy code retried forever ends at saas.deadline', async () => {
  const upstream = await startSparkUpstream(APP_ID, API_KEY, API_SECRET);
  const spec = deploymentSpecSchema.parse({
    name: 'spark',
    pretrainedModelType: 'saas/sparkdesk',
    inferParams: {
      'saas.appid': APP_ID,
      'saas.api_key': API_KEY,
      'saas.api_secret': API_SECRET,
      'saas.gpt_url': upstream.gptUrl,
      'saas.max_retries': '50',
      'saas.deadline': String(DEADLINE_MS / 1000),
    },
  });
  const engine = await createSparkDeskEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
  try {
    const chat = engine.chat;
    assert.ok(chat);
    const started = Date.now();
    await assert.rejects(
      chat
        .doStream({ messages: [{ role: 'user', content: 'delay:300 fail:500 hello' }] })
        .then((parts) => collectStream(parts)),
      (error: ByzerLLMError) => {
        if (error.code === 'timeout') {
          assert.equal(error.isRetryable, false);
          assert.match(error.message, /did not answer within 2 s \(saas\.deadline/);
        } else {
          assert.equal(error.code, 'upstream_error');
          assert.match(error.message, /10110/);
        }
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < DEADLINE_MS + 1_500, `the request ended after ${elapsed} ms`);
    assert.ok(upstream.frames.length >= 2, `retried the busy code (${upstream.frames.length} connections)`);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
});
