/**
 * The worker IPC parser's fast path for stream messages accepts exactly what the schema accepts: every
 * malformed `part` message is still refused (and worded by the schema), a batch's messages are
 * parsed one by one, and the parts of concurrent streams keep their order within each stream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseFromWorkerEnvelope,
  parseFromWorkerMessage,
} from '../../src/cluster/transport/worker-protocol.js';

const textPart = (id: unknown, part: unknown) => ({ type: 'part', id, part });

test('malformed text parts are refused by the fast path and worded by the schema', () => {
  const malformed: unknown[] = [
    textPart(-1, { type: 'text-delta', delta: 'x' }),
    textPart(1.5, { type: 'text-delta', delta: 'x' }),
    textPart('1', { type: 'text-delta', delta: 'x' }),
    textPart(2 ** 53, { type: 'text-delta', delta: 'x' }),
    textPart(Number.NaN, { type: 'text-delta', delta: 'x' }),
    textPart(1, { type: 'text-delta', delta: 7 }),
    textPart(1, { type: 'text-delta' }),
    textPart(1, { type: 'reasoning-delta', delta: null }),
    textPart(1, null),
    textPart(1, 'text-delta'),
    textPart(1, Object.assign(['x'], { type: 'text-delta', delta: 'x' })),
    textPart(1, { type: 'no-such-part', delta: 'x' }),
    Object.assign([], { type: 'part', id: 1, part: { type: 'text-delta', delta: 'x' } }),
    { type: 'parts', id: 1, part: { type: 'text-delta', delta: 'x' } },
    { type: 'stream-started', id: -2 },
    { type: 'stream-started' },
    textPart(1, { type: 'response-metadata' }),
    textPart(1, { type: 'response-metadata', requestId: 'r', modelId: 5 }),
    textPart(1, { type: 'finish', finishReason: 'bored', usage: { inputTokens: 1, outputTokens: 2 } }),
    textPart(1, { type: 'finish', finishReason: 'stop' }),
    textPart(1, { type: 'finish', finishReason: 'stop', usage: null }),
    textPart(1, { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1 } }),
    textPart(1, { type: 'finish', finishReason: 'stop', usage: { inputTokens: '1', outputTokens: 2 } }),
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: Number.NaN, outputTokens: 2 },
    }),
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: Number.POSITIVE_INFINITY },
    }),
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2 },
      warnings: 'x',
    }),
    // Busy seconds are charged to virtual keys: a worker cannot send negative or endless ones.
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, cpuSeconds: -1 },
    }),
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, gpuSeconds: Number.POSITIVE_INFINITY },
    }),
    textPart(1, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, cpuSeconds: '1' },
    }),
  ];
  for (const message of malformed) {
    const parsed = parseFromWorkerMessage(message);
    assert.equal(parsed.ok, false, `accepted ${JSON.stringify(message)}`);
    assert.ok(!parsed.ok && parsed.problem.length > 0);
  }
});

test('well-formed stream messages pass as they came, extra part fields included, as the loose schema passes them', () => {
  for (const part of [
    { type: 'text-delta', delta: 'héllo' },
    { type: 'text-delta', delta: '' },
    { type: 'reasoning-delta', delta: 'so', extra: 1 },
  ]) {
    const message = textPart(0, part);
    const parsed = parseFromWorkerMessage(message);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.message, { type: 'part', id: 0, part });
    // The hand-written check passes the message itself; the schema would have built a copy.
    assert.equal(parsed.message, message, 'taken by the fast path');
  }
  const wellFormed: unknown[] = [
    { type: 'stream-started', id: 4 },
    textPart(4, { type: 'response-metadata', requestId: 'r1' }),
    textPart(4, { type: 'response-metadata', requestId: 'r1', modelId: 'tiny' }),
    textPart(4, { type: 'finish', finishReason: 'length', usage: { inputTokens: 3, outputTokens: 32 } }),
    textPart(4, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 32, cpuSeconds: 0.012345 },
    }),
    textPart(4, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 1, gpuSeconds: 0 },
    }),
    textPart(4, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 1, cachedTokens: 2 },
      warnings: [{ type: 'unsupported-setting', setting: 'seed' }],
    }),
  ];
  for (const message of wellFormed) {
    const parsed = parseFromWorkerMessage(message);
    assert.ok(parsed.ok, `refused ${JSON.stringify(message)}`);
    assert.deepEqual(parsed.message, message);
    // Warnings are rare and go through the schema; every other message takes the fast path.
    const viaSchema = (message as { part?: { warnings?: unknown } }).part?.warnings !== undefined;
    if (viaSchema) assert.notEqual(parsed.message, message);
    else assert.equal(parsed.message, message, `fast path for ${JSON.stringify(message)}`);
  }
});

test('a batch keeps the order of each stream and drops only its malformed messages', () => {
  const messages = [
    textPart(1, { type: 'text-delta', delta: 'a' }),
    textPart(2, { type: 'text-delta', delta: 'A' }),
    textPart(1, { type: 'text-delta', delta: 7 }),
    textPart(2, { type: 'text-delta', delta: 'B' }),
    textPart(1, { type: 'text-delta', delta: 'b' }),
    textPart(1, { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } }),
  ];
  const parsed = parseFromWorkerEnvelope({ type: 'batch', messages });
  assert.deepEqual(
    parsed.map((each) => each.ok),
    [true, true, false, true, true, true],
  );
  const deltas = (id: number) =>
    parsed.flatMap((each) =>
      each.ok && each.message.type === 'part' && each.message.id === id && 'delta' in each.message.part
        ? [each.message.part.delta]
        : [],
    );
  assert.deepEqual(deltas(1), ['a', 'b']);
  assert.deepEqual(deltas(2), ['A', 'B']);
  const notAList = parseFromWorkerEnvelope({ type: 'batch', messages: 'not a list' });
  assert.equal(notAList.length, 1);
  assert.ok(!notAList[0]!.ok && notAList[0]!.problem.startsWith('batch: '));
  const tooLong = parseFromWorkerEnvelope({ type: 'batch', messages: new Array(10_001).fill({}) });
  assert.equal(tooLong.length, 1, 'an oversized batch is refused whole');
  assert.equal(tooLong[0]!.ok, false);
});
