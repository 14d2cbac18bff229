/**
 * The shared suite every balance strategy runs, plus what distinguishes each one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadBalanceStrategy } from '../../src/core/index.js';
import {
  affinityKeysOf,
  createBalanceStrategy,
  createPrefixAffinityStrategy,
  type WorkerSlotView,
} from '../../src/cluster/index.js';
import { type ChatMessage, deploymentSpecSchema, loadBalanceOf } from '../../src/core/index.js';

function workers(free: number[], lastHandedOutAt: number[] = free.map(() => 0)): WorkerSlotView[] {
  return free.map((freeSlots, index) => ({
    index,
    freeSlots,
    lastHandedOutAt: lastHandedOutAt[index]!,
    ready: true,
  }));
}

for (const name of ['lru', 'round_robin', 'prefix_affinity'] as LoadBalanceStrategy[]) {
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

describe('prefix_affinity', () => {
  const system: ChatMessage = {
    role: 'system',
    content: 'You answer questions about the manual. '.repeat(8),
  };
  const conversation = (turns: number, topic: string): ChatMessage[] => {
    const messages: ChatMessage[] = [system];
    for (let turn = 0; turn < turns; turn++) {
      messages.push({ role: 'user', content: `${topic} question ${turn}` });
      messages.push({ role: 'assistant', content: `answer ${turn}` });
    }
    messages.push({ role: 'user', content: `${topic} question ${turns}` });
    return messages;
  };
  const pick = (
    strategy: ReturnType<typeof createBalanceStrategy>,
    pool: WorkerSlotView[],
    messages: ChatMessage[],
  ) => strategy.pick(pool, { affinityKeys: affinityKeysOf(messages) });

  test("keys: a later turn shares the earlier turn's keys; a short prompt has none; the longest comes first", () => {
    const first = affinityKeysOf(conversation(0, 'a'));
    const later = affinityKeysOf(conversation(3, 'a'));
    assert.ok(first.length >= 1);
    assert.ok(first.every((key) => later.includes(key)));
    assert.notEqual(later[0], first[0]);
    assert.deepEqual(affinityKeysOf([{ role: 'user', content: 'hi' }]), []);
    // Past the character limit every prompt with the same start has the same longest key.
    const long = 'x'.repeat(5000);
    assert.equal(
      affinityKeysOf([{ role: 'user', content: `${long}1` }])[0],
      affinityKeysOf([{ role: 'user', content: `${long}2` }])[0],
    );
  });

  test('a conversation stays on the worker of its first turn while other conversations spread', () => {
    const strategy = createBalanceStrategy('prefix_affinity');
    const pool = workers([2, 2, 2], [0, 0, 0]);
    const first = pick(strategy, pool, conversation(0, 'a'));
    assert.notEqual(first, undefined);
    for (let turn = 1; turn < 20; turn++) assert.equal(pick(strategy, pool, conversation(turn, 'a')), first);
    // A prompt with no key goes to the least busy worker: one with more free slots than the first.
    const busier = workers([1, 2, 2], [5, 0, 0]);
    assert.equal(strategy.pick(busier, { affinityKeys: [] }), 1);
  });

  test('an overloaded worker (no free slot) sends the request to the least busy one, which keeps it', () => {
    const strategy = createBalanceStrategy('prefix_affinity');
    const first = pick(strategy, workers([2, 2]), conversation(0, 'a'))!;
    const other = 1 - first;
    const free = [2, 2];
    free[first] = 0;
    assert.equal(pick(strategy, workers(free), conversation(1, 'a')), other);
    assert.equal(pick(strategy, workers([2, 2]), conversation(2, 'a')), other);
  });

  test('memory is bounded: the least recently used keys are forgotten first', () => {
    const strategy = createPrefixAffinityStrategy({ maxKeys: 2 });
    const pool = workers([1, 1], [0, 0]);
    assert.equal(strategy.pick(pool, { affinityKeys: [1] }), 0);
    const moved = workers([1, 1], [10, 0]);
    assert.equal(strategy.pick(moved, { affinityKeys: [2] }), 1);
    assert.equal(strategy.pick(moved, { affinityKeys: [1] }), 0); // remembered, although worker 0 is less fresh
    assert.equal(strategy.pick(moved, { affinityKeys: [3] }), 1); // evicts key 2, the least recently used
    assert.equal(strategy.pick(workers([1, 1], [0, 10]), { affinityKeys: [2] }), 0); // forgotten: least busy
    assert.equal(strategy.pick(workers([1, 1], [0, 10]), { affinityKeys: [3] }), 1); // still remembered
  });
});

test('a deployment that names no strategy gets prefix_affinity on llama_cpp and lru elsewhere', () => {
  const parse = (input: Record<string, unknown>) =>
    loadBalanceOf(
      deploymentSpecSchema.parse({ name: 'model', pretrainedModelType: 'custom/auto', ...input }),
    );
  assert.equal(parse({ inferBackend: 'llama_cpp' }), 'prefix_affinity');
  assert.equal(parse({ inferBackend: 'llama_cpp', loadBalance: 'round_robin' }), 'round_robin');
  assert.equal(parse({ pretrainedModelType: 'saas/openai' }), 'lru');
  assert.equal(parse({ inferBackend: 'vllm', loadBalance: 'prefix_affinity' }), 'prefix_affinity');
});
