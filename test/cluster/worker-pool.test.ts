import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool } from '../../src/cluster/index.js';
import { ByzerLLMError } from '../../src/core/index.js';

function pool(options: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}) {
  return new WorkerPool({
    deploymentName: 'gpt_chat',
    workerCount: 2,
    slotsPerWorker: 2,
    strategy: 'lru',
    queueTimeoutMs: 5_000,
    ...options,
  });
}

test('hands out at most workerCount × slots leases and spreads them over workers', async () => {
  const workers = pool();
  const leases = await Promise.all([1, 2, 3, 4].map(() => workers.acquire()));
  assert.deepEqual(leases.map((lease) => lease.workerIndex).sort(), [0, 0, 1, 1]);
  const stat = workers.stat();
  assert.deepEqual(stat.state, [0, 0]);
  assert.equal(stat.busy_workers, 2);
  assert.deepEqual(stat.total_requests, [2, 2]);
  for (const lease of leases) lease.release();
  assert.deepEqual(workers.stat().state, [2, 2]);
  assert.equal(workers.stat().idle_workers, 2);
});

test('a waiting request gets the first slot released, in FIFO order', async () => {
  const workers = pool({ workerCount: 1, slotsPerWorker: 1 });
  const first = await workers.acquire();
  const order: string[] = [];
  const second = workers.acquire().then((lease) => {
    order.push('second');
    return lease;
  });
  const third = workers.acquire().then((lease) => {
    order.push('third');
    return lease;
  });
  assert.equal(workers.stat().waiting_requests, 2);
  first.release();
  (await second).release();
  (await third).release();
  assert.deepEqual(order, ['second', 'third']);
  assert.equal(workers.stat().state[0], 1);
});

test('waiting longer than the queue timeout fails with an error naming the deployment and capacity', async () => {
  const workers = pool({ workerCount: 1, slotsPerWorker: 1, queueTimeoutMs: 20 });
  const held = await workers.acquire();
  await assert.rejects(workers.acquire(), (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError);
    assert.equal(error.code, 'capacity_exhausted');
    assert.equal(error.isRetryable, true);
    assert.match(error.message, /gpt_chat/);
    assert.match(error.message, /1 workers × 1 slots/);
    return true;
  });
  held.release();
  assert.equal(workers.stat().waiting_requests, 0);
});

test('an aborted waiter leaves the queue and does not take a slot', async () => {
  const workers = pool({ workerCount: 1, slotsPerWorker: 1 });
  const held = await workers.acquire();
  const abort = new AbortController();
  const waiting = workers.acquire({ signal: abort.signal });
  abort.abort();
  await assert.rejects(waiting, (error: ByzerLLMError) => error.code === 'aborted');
  held.release();
  assert.equal(workers.stat().state[0], 1);
});

test('pinned requests wait for their worker even when another one is free', async () => {
  const workers = pool({ slotsPerWorker: 1 });
  const onOne = await workers.acquire({ pinnedIndex: 1 });
  assert.equal(onOne.workerIndex, 1);
  let granted = false;
  const pinnedAgain = workers.acquire({ pinnedIndex: 1 }).then((lease) => {
    granted = true;
    return lease;
  });
  const free = await workers.acquire();
  assert.equal(free.workerIndex, 0);
  assert.equal(granted, false);
  onOne.release();
  assert.equal((await pinnedAgain).workerIndex, 1);
});

test('releasing a lease twice frees one slot only', async () => {
  const workers = pool({ workerCount: 1, slotsPerWorker: 2 });
  const lease = await workers.acquire();
  await workers.acquire();
  lease.release();
  lease.release();
  assert.deepEqual(workers.stat().state, [1]);
});

test('closing the pool fails waiting requests with the reason', async () => {
  const workers = pool({ workerCount: 1, slotsPerWorker: 1 });
  await workers.acquire();
  const waiting = workers.acquire();
  workers.close(new Error('undeployed'));
  await assert.rejects(waiting, /undeployed/);
});

test('stat keeps the seed field names and peak concurrency per worker', async () => {
  const workers = pool({ workerCount: 2, slotsPerWorker: 3, strategy: 'round_robin' });
  const leases = await Promise.all([1, 2, 3].map(() => workers.acquire()));
  const stat = workers.stat();
  assert.deepEqual(Object.keys(stat).slice(0, 8), [
    'total_workers',
    'busy_workers',
    'idle_workers',
    'load_balance_strategy',
    'total_requests',
    'state',
    'worker_max_concurrency',
    'workers_last_work_time',
  ]);
  assert.equal(stat.load_balance_strategy, 'round_robin');
  assert.equal(stat.worker_max_concurrency, 3);
  assert.match(stat.workers_last_work_time[0]!, /^\d+\.\d+s$/);
  assert.deepEqual(
    stat.worker_state.map((worker) => worker.peak_active_task),
    [2, 1],
  );
  for (const lease of leases) lease.release();
});
