/**
 * `PushIterator` and `releasingIterator`, the per-part iterators of the head's stream relay: items in
 * the order pushed, the end after the last of them, `onReturn` only when the consumer leaves before
 * the end, and the lease released exactly once however the stream ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushIterator, releasingIterator } from '../../src/cluster/transport/push-iterator.js';

test('items pushed before and while the consumer waits arrive in order, then the end', async () => {
  let returned = 0;
  const queue = new PushIterator<number>(() => returned++);
  queue.push(1);
  queue.push(2);
  const seen: number[] = [];
  const consumed = (async () => {
    for await (const item of queue) seen.push(item);
  })();
  await Promise.resolve();
  queue.push(3);
  setImmediate(() => {
    queue.push(4);
    queue.end();
    queue.push(5);
  });
  await consumed;
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.equal(returned, 0, 'a consumer that reached the end did not leave early');
});

test('a consumer that leaves early runs onReturn once and gets no more items', async () => {
  let returned = 0;
  const queue = new PushIterator<string>(() => returned++);
  queue.push('a');
  queue.push('b');
  for await (const item of queue) {
    assert.equal(item, 'a');
    break;
  }
  assert.equal(returned, 1);
  queue.push('c');
  assert.deepEqual(await queue.next(), { value: undefined, done: true });
  await queue.return();
  assert.equal(returned, 1);
});

test('releasingIterator releases once: at the end, on early return (after the inner return), on failure', async () => {
  const events: string[] = [];
  const ended = new PushIterator<number>(() => events.push('inner returned'));
  ended.push(1);
  ended.end();
  const items: number[] = [];
  for await (const item of releasingIterator(ended, () => events.push('released'))) items.push(item);
  assert.deepEqual(items, [1]);
  assert.deepEqual(events, ['released']);

  events.length = 0;
  const open = new PushIterator<number>(() => events.push('inner returned'));
  open.push(1);
  for await (const _item of releasingIterator(open, () => events.push('released'))) break;
  assert.deepEqual(events, ['inner returned', 'released']);

  events.length = 0;
  const failing: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('worker gone')) }),
  };
  const wrapped = releasingIterator(failing, () => events.push('released'));
  await assert.rejects(wrapped.next(), /worker gone/);
  await wrapped.return?.();
  assert.deepEqual(events, ['released']);
});
