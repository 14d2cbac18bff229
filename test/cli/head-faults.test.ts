/**
 * The embedded head (HTTP on 127.0.0.1) dying or hanging while the CLI waits for an answer: the
 * command fails with the head-unreachable error (exit 6) — at once when the head died, after
 * `BYZERLLM_HEAD_TIMEOUT` when it hangs — instead of waiting for an answer the head will never relay.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../support/background-cli.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

describe('the embedded head lost mid-call', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;

  before(async () => {
    upstream = await startOpenAIUpstream({ recordRequests: false });
  });

  after(async () => {
    await upstream?.close();
  });

  async function startHeadWithDeployment(environment: Record<string, string> = {}): Promise<number> {
    home = await createTestHome();
    Object.assign(home.env, environment);
    const deploy = await home.run([
      'deploy',
      '--model',
      'slow',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    return JSON.parse(await fs.readFile(path.join(home.home, 'head.json'), 'utf8')).pid;
  }

  async function queryWhile(fault: () => void): Promise<{ code: number; stderr: string; afterMs: number }> {
    upstream.reset();
    const query = startCli(home, ['query', '--model', 'slow', '--query', 'delay:120000 never answered']);
    // The request reached the upstream: the head holds it.
    await upstream.waitUntil(() => upstream.inFlight() >= 1);
    const faultAt = Date.now();
    fault();
    const result = await query;
    return { code: result.code, stderr: result.stderr, afterMs: result.exitedAt - faultAt };
  }

  test('killed: the query exits 6 at once', async () => {
    const pid = await startHeadWithDeployment();
    try {
      const result = await queryWhile(() => process.kill(pid, 'SIGKILL'));
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /byzerllm head at http:\/\/127\.0\.0\.1:\d+/);
      assert.ok(result.afterMs < 10_000, `exited ${result.afterMs} ms after the kill`);
    } finally {
      await home.cleanup();
    }
  });

  test('frozen (SIGSTOP): the query exits 6 once the head missed its pings for BYZERLLM_HEAD_TIMEOUT', async () => {
    // 5 s instead of the default 30 s, to keep the test short.
    const pid = await startHeadWithDeployment({ BYZERLLM_HEAD_TIMEOUT: '5' });
    try {
      const result = await queryWhile(() => process.kill(pid, 'SIGSTOP'));
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /stopped answering \(no answer to \/health for \d+\.\d+s\)/);
      // Silence counts from the last answered ping, up to one ping interval (1 s) before the freeze.
      assert.ok(result.afterMs >= 3_500, `not before the head timeout: ${result.afterMs} ms`);
      assert.ok(result.afterMs < 15_000, `exited ${result.afterMs} ms after the freeze`);
    } finally {
      process.kill(pid, 'SIGCONT');
      await home.cleanup();
    }
  });
});
