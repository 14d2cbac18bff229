import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool } from '../../src/cluster/index.js';
import { LATENCY_WINDOW, WorkerMetrics } from '../../src/cluster/worker-metrics.js';

test('percentiles, failures and tokens per second come from what was recorded', () => {
  const metrics = new WorkerMetrics();
  assert.deepEqual(metrics.snapshot(), {
    finished_requests: 0,
    failed_requests: 0,
    latency_p50_ms: null,
    latency_p95_ms: null,
    tokens_per_second: null,
  });
  // 1..100 ms: nearest-rank p50 is 50, p95 is 95.
  for (let latency = 100; latency >= 1; latency--) {
    metrics.record(latency, latency === 7 ? { failed: true } : { outputTokens: latency === 100 ? 20 : 0 });
  }
  const stat = metrics.snapshot();
  assert.equal(stat.finished_requests, 100);
  assert.equal(stat.failed_requests, 1);
  assert.equal(stat.latency_p50_ms, 50);
  assert.equal(stat.latency_p95_ms, 95);
  // Only the request that reported tokens counts: 20 tokens in 100 ms.
  assert.equal(stat.tokens_per_second, 200);
});

test('the percentiles describe the last LATENCY_WINDOW requests, whatever the total', () => {
  const metrics = new WorkerMetrics();
  for (let index = 0; index < LATENCY_WINDOW * 10; index++) metrics.record(1000, undefined);
  for (let index = 0; index < LATENCY_WINDOW; index++) metrics.record(5, undefined);
  const stat = metrics.snapshot();
  assert.equal(stat.finished_requests, LATENCY_WINDOW * 11);
  assert.equal(stat.latency_p95_ms, 5);
});

test('a released lease is recorded on its own worker, with its outcome', async () => {
  const pool = new WorkerPool({
    deploymentName: 'gpt_chat',
    workerCount: 2,
    slotsPerWorker: 1,
    strategy: 'round_robin',
    queueTimeoutMs: 5_000,
  });
  const first = await pool.acquire();
  const second = await pool.acquire();
  first.release({ outputTokens: 3 });
  second.release({ failed: true });
  second.release({ failed: true }); // a second release records nothing
  const metrics = pool.stat().worker_metrics;
  assert.deepEqual(
    metrics.map((worker) => [worker.finished_requests, worker.failed_requests]),
    [
      [1, 0],
      [1, 1],
    ],
  );
  assert.ok(metrics[0]!.tokens_per_second! > 0);
  assert.equal(metrics[1]!.tokens_per_second, null);
  assert.notEqual(metrics[0]!.latency_p50_ms, null);
});
