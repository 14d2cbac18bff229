/**
 * `setFields`: how the gateway turns OpenAI's `null` ("not set") into an absent request field, so an
 * engine never sees `voice: null` or `n: null`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFields } from '../../src/server/validate.js';

test('setFields keeps set values (falsy ones included) and drops null and undefined', () => {
  const fields = setFields({ voice: null, speed: 0, quality: '', n: undefined, size: '256x256' });
  assert.deepEqual(fields, { speed: 0, quality: '', size: '256x256' });
  assert.equal('voice' in fields, false);
  assert.equal('n' in fields, false);
});
