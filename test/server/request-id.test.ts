/**
 * `newRequestId`: the `x-request-id` of every gateway answer, cut from a pool of random bytes that is
 * refilled every 256 ids; ids must keep OpenAI's shape and never repeat across refills.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId } from '../../src/server/exchange.js';

test('request ids are req_ and 32 hex digits, all distinct across several refills of the pool', () => {
  const ids = Array.from({ length: 1000 }, () => newRequestId());
  for (const id of ids) assert.match(id, /^req_[0-9a-f]{32}$/);
  assert.equal(new Set(ids).size, ids.length);
});
