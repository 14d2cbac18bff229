/**
 * `BYZERLLM_HEAD_TIMEOUT` and `BYZERLLM_FAULT_TIMEOUT` are read by one function: both take seconds,
 * fall back to their defaults when unset or blank, and name themselves when the value is bad.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_HEAD_TIMEOUT_MS, headTimeoutMs } from '../../src/cluster/liveness-probe.js';
import { DEFAULT_FAULT_TIMEOUT_MS, faultTimeoutMs } from '../../src/cluster/nats/connection-watch.js';
import { InvalidArgumentError } from '../../src/core/index.js';

const settings = [
  { name: 'BYZERLLM_HEAD_TIMEOUT', read: headTimeoutMs, defaultMs: DEFAULT_HEAD_TIMEOUT_MS },
  { name: 'BYZERLLM_FAULT_TIMEOUT', read: faultTimeoutMs, defaultMs: DEFAULT_FAULT_TIMEOUT_MS },
];

for (const { name, read, defaultMs } of settings) {
  test(`${name}: seconds become milliseconds; unset or blank is the default`, () => {
    assert.equal(read({ [name]: '2.5' }), 2500);
    assert.equal(read({}), defaultMs);
    assert.equal(read({ [name]: '  ' }), defaultMs);
  });

  test(`${name}: zero, negative and non-numbers are rejected with the setting's name`, () => {
    for (const bad of ['0', '-1', 'soon', 'Infinity']) {
      assert.throws(
        () => read({ [name]: bad }),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.message === `${name} must be a number of seconds > 0, got ${JSON.stringify(bad)}`,
      );
    }
  });
}
