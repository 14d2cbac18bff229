import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPinning, parseSpec } from '../../src/cluster/head/parse-spec.js';

const base = { name: 'chat', pretrainedModelType: 'saas/openai', numWorkers: 2 };

test('a pinned call kind must name one of the deployment workers', () => {
  checkPinning(parseSpec({ ...base, pinning: { embedding: 1 } }));
  assert.throws(
    () => checkPinning(parseSpec({ ...base, pinning: { tokenizer: 2 } })),
    /pinning tokenizer=2 points past the last worker \(deployment chat has workers 0-1\)/,
  );
});

test('a bad spec is refused naming the field and the value given', () => {
  assert.throws(() => parseSpec({ ...base, numWorkers: 0 }), /invalid numWorkers 0:/);
});
