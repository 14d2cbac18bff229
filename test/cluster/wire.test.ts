/**
 * The cluster's one wire module: every carrier (admin API, NATS, worker IPC) encodes errors, stream
 * parts, binary values and call kinds with it, so these round trips hold on all of them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CapacityError, InvalidArgumentError } from '../../src/core/index.js';
import {
  callKindSchema,
  decodeJsonBytes,
  decodeStreamPart,
  encodeJsonBytes,
  encodeStreamPart,
  failureReply,
  wireStreamPartSchema,
} from '../../src/cluster/wire/index.js';

test('an error part survives encoding with its class, code and retryability', () => {
  const wire = encodeStreamPart({ type: 'error', error: new CapacityError('all 2 workers busy') });
  const parsed = wireStreamPartSchema.parse(JSON.parse(JSON.stringify(wire)));
  const part = decodeStreamPart(parsed as Parameters<typeof decodeStreamPart>[0]);
  assert.equal(part.type, 'error');
  assert.ok(part.type === 'error' && part.error instanceof CapacityError);
  assert.equal(part.type === 'error' && part.error.isRetryable, true);
  assert.equal(part.type === 'error' && part.error.message, 'all 2 workers busy');
});

test('a thrown non-ByzerLLM value becomes an internal failure reply', () => {
  const reply = failureReply(new TypeError('boom'));
  assert.equal(reply.ok, false);
  assert.equal(reply.error.code, 'internal');
  assert.equal(failureReply(new InvalidArgumentError('bad')).error.code, 'invalid_argument');
});

test('bytes inside a JSON payload come back as the same bytes', () => {
  const audio = new Uint8Array([0, 1, 254, 255]);
  const decoded = decodeJsonBytes(encodeJsonBytes({ part: { type: 'audio-delta', data: audio } })) as {
    part: { data: Uint8Array };
  };
  assert.ok(decoded.part.data instanceof Uint8Array);
  assert.deepEqual([...decoded.part.data], [0, 1, 254, 255]);
});

test('call kinds are task names; the spellings of earlier peers are read as them', () => {
  assert.equal(callKindSchema.parse('embedding'), 'embedding');
  assert.equal(callKindSchema.parse('embed'), 'embedding');
  assert.equal(callKindSchema.parse('transcribe'), 'transcription');
  assert.equal(callKindSchema.parse('transcription'), 'transcription');
  const refused = callKindSchema.safeParse('launch');
  assert.equal(refused.success, false);
  assert.match(
    refused.error?.issues[0]?.message ?? '',
    /unknown call kind "launch"; allowed: chat, embedding/,
  );
});
