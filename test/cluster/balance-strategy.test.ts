/**
 * The shared suite every balance strategy runs, plus what distinguishes each one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadBalanceStrategy } from '../../src/core/index.js';
import { createBalanceStrategy, type WorkerSlotView } from '../../src/cluster/index.js';

function workers(free: number[], lastHandedOutAt: number[] = free.map(() => 0)): WorkerSlotView[] {
  return free.map((freeSlots, index) => ({
    index,
    freeSlots,
    lastHandedOutAt: lastHandedOutAt[index]!,
    ready: true,
  }));
}

for (const name of ['lru', 'round_robin'] as LoadBalanceStrategy[]) {
  describe(`balance strategy ${name} (shared suite)`, () => {
    test('picks nothing when every worker is full', () => {
      assert.equal(createBalanceStrategy(name).pick(workers([0, 0, 0])), undefined);
    });
    test('never picks a full or unready worker', () => {
      const strategy = createBalanceStrategy(name);
      const pool = workers([0, 2, 0]);
      pool.push({ index: 3, freeSlots: 5, lastHandedOutAt: 0, ready: false });
      for (let round = 0; round < 6; round++) assert.equal(strategy.pick(pool), 1);
    });
    test('reports its name', () => {
      assert.equal(createBalanceStrategy(name).name, name);
    });
  });
}

test('lru picks the available worker handed a request longest ago', () => {
  const strategy = createBalanceStrategy('lru');
  assert.equal(strategy.pick(workers([1, 1, 1], [30, 10, 20])), 1);
  assert.equal(strategy.pick(workers([1, 0, 1], [30, 10, 20])), 2);
});

test('round_robin rotates through available workers in index order', () => {
  const strategy = createBalanceStrategy('round_robin');
  const pool = workers([1, 1, 1]);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => strategy.pick(pool)),
    [0, 1, 2, 0],
  );
  const skipping = workers([1, 0, 1]);
  assert.deepEqual([strategy.pick(skipping), strategy.pick(skipping)], [2, 0]);
});
