/**
 * The CLI client's NDJSON reader (`readNdjsonParts`) over a real Node stream: lines cut anywhere by
 * the chunks (inside a UTF-8 character too) come out whole and in order; an `error` line, a line that
 * is not JSON and a failing body end the parts with an error; a consumer that leaves destroys the
 * body; a slow consumer pauses it.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { readNdjsonParts } from '../../src/cluster/head/ndjson-reader.js';
import { HeadUnreachableError, NotFoundError, type StreamPart } from '../../src/core/index.js';
import { encodeStreamPart } from '../../src/cluster/wire/index.js';

const line = (part: StreamPart) => `${JSON.stringify(encodeStreamPart(part))}\n`;
const finish: StreamPart = {
  type: 'finish',
  finishReason: 'stop',
  usage: { inputTokens: 1, outputTokens: 3 },
};

function reader(body: PassThrough, lost?: () => HeadUnreachableError | undefined) {
  const calls = { done: 0 };
  const parts = readNdjsonParts(body, { lost: lost ?? (() => undefined), done: () => calls.done++ });
  return { parts, calls };
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const seen: StreamPart[] = [];
  for await (const part of parts) seen.push(part);
  return seen;
}

test('lines split across chunks, inside a UTF-8 character too, arrive whole and in order', async () => {
  const body = new PassThrough();
  const { parts, calls } = reader(body);
  const bytes = Buffer.from(
    line({ type: 'text-delta', delta: 'wäter 水' }) +
      '\n' +
      line({ type: 'text-delta', delta: '🌊' }) +
      line(finish).trimEnd(),
  );
  const collected = collect(parts);
  for (let offset = 0; offset < bytes.length; offset += 5) body.write(bytes.subarray(offset, offset + 5));
  body.end();
  assert.deepEqual(await collected, [
    { type: 'text-delta', delta: 'wäter 水' },
    { type: 'text-delta', delta: '🌊' },
    finish,
  ]);
  assert.equal(calls.done, 1);
});

test('an error line ends the parts with its error, with its class, and nothing after it', async () => {
  const body = new PassThrough();
  const { parts, calls } = reader(body);
  body.write(
    line({ type: 'text-delta', delta: 'a' }) +
      line({ type: 'error', error: new NotFoundError('no deployment x') }) +
      line({ type: 'text-delta', delta: 'b' }),
  );
  const seen = await collect(parts);
  assert.equal(seen.length, 2);
  assert.equal(seen[1]!.type, 'error');
  assert.ok(seen[1]!.type === 'error' && seen[1]!.error instanceof NotFoundError);
  assert.equal(calls.done, 1);
  assert.ok(body.destroyed, 'the body is let go after the error');
});

test('a line that is not JSON, and a failing body, end the parts with an error (the lost head first)', async () => {
  const garbled = new PassThrough();
  const first = reader(garbled);
  garbled.write(`${line({ type: 'text-delta', delta: 'a' })}{"type":\n`);
  const seen = await collect(first.parts);
  assert.deepEqual(
    seen.map((part) => part.type),
    ['text-delta', 'error'],
  );

  const failing = new PassThrough();
  const lost = new HeadUnreachableError('the head stopped answering');
  const second = reader(failing, () => lost);
  failing.write(line({ type: 'text-delta', delta: 'a' }));
  setImmediate(() => failing.destroy(new Error('socket hang up')));
  const parts = await collect(second.parts);
  const last = parts.at(-1);
  assert.ok(last?.type === 'error' && last.error === lost, 'the lost head is the error reported');
  assert.equal(second.calls.done, 1);
});

test('a consumer that stops early destroys the body once; a slow one pauses it until it reads', async () => {
  const body = new PassThrough();
  const { parts, calls } = reader(body);
  body.write(line({ type: 'text-delta', delta: 'a' }).repeat(100));
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(body.isPaused(), '100 unread parts pause the body');
  let read = 0;
  for await (const _part of parts) {
    if (++read === 90) break;
  }
  assert.ok(body.destroyed);
  assert.equal(calls.done, 1);
});
