/**
 * `TurnBatcher`: what is pushed in one turn of the event loop is delivered once, together and in
 * order, at the end of that turn; a later turn's messages are a delivery of their own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBatcher } from '../../src/cluster/transport/turn-batcher.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('messages of one turn are delivered together, in order, after the turn', async () => {
  const deliveries: number[][] = [];
  const batcher = new TurnBatcher<number>((messages) => deliveries.push(messages));
  batcher.push(1);
  batcher.push(2);
  await Promise.resolve();
  batcher.push(3);
  assert.deepEqual(deliveries, [], 'nothing leaves before the turn ends');
  await nextTurn();
  assert.deepEqual(deliveries, [[1, 2, 3]]);
  batcher.push(4);
  await nextTurn();
  await nextTurn();
  assert.deepEqual(deliveries, [[1, 2, 3], [4]], 'a later turn is its own delivery, never an empty one');
});

test('flush delivers what is pending at once, and the end of the turn delivers nothing again', async () => {
  const deliveries: string[][] = [];
  const batcher = new TurnBatcher<string>((messages) => deliveries.push(messages));
  batcher.push('failed');
  batcher.flush();
  assert.deepEqual(deliveries, [['failed']]);
  await nextTurn();
  assert.deepEqual(deliveries, [['failed']]);
});
