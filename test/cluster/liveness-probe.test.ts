/**
 * LivenessProbe's `fatal` hook: a ping failure that waiting cannot cure (a NATS user refused the
 * head's PING) fails the waiting work with that error at once, not with "the head stopped
 * answering" after the head timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ByzerLLMError, HeadUnreachableError, InvalidArgumentError } from '../../src/core/index.js';
import { LivenessProbe } from '../../src/cluster/liveness-probe.js';

class RefusedPing extends Error {}

/**
 * Tracks one piece of work and resolves with the error it fails with. The probe's timer is unref'd
 * (it must not keep a CLI alive by itself): here a timer stands in for the request that would.
 */
function failureOf(probe: LivenessProbe): { failed: Promise<ByzerLLMError>; startedAt: number } {
  const startedAt = Date.now();
  const keepAlive = setTimeout(() => {}, 120_000);
  const failed = new Promise<ByzerLLMError>((resolve) => {
    const untrack = probe.track((error) => {
      untrack();
      clearTimeout(keepAlive);
      resolve(error);
    });
  });
  return { failed, startedAt };
}

test('a ping refused for good fails the waiting work at once with the fatal error', async () => {
  const probe = new LivenessProbe({
    intervalMs: 20,
    timeoutMs: 60_000,
    goneAfterMs: 60_000,
    ping: () => Promise.reject(new RefusedPing('Permissions Violation for Publish to "$SRV.PING.x"')),
    isGone: () => false,
    lost: (silentMs) => new HeadUnreachableError(`silent for ${silentMs} ms`),
    fatal: (error) =>
      error instanceof RefusedPing ? new InvalidArgumentError(`refused: ${error.message}`) : undefined,
  });
  const { failed, startedAt } = failureOf(probe);
  const error = await failed;
  assert.ok(error instanceof InvalidArgumentError, String(error));
  assert.match(error.message, /refused: Permissions Violation/);
  // Far below the 60 s head and gone timeouts: the error came from `fatal`, not from silence.
  assert.ok(Date.now() - startedAt < 30_000);
  probe.stop();
});

test('other ping failures still count as silence (fatal returns undefined)', async () => {
  const probe = new LivenessProbe({
    intervalMs: 20,
    timeoutMs: 60_000,
    goneAfterMs: 100,
    ping: () => Promise.reject(new Error('no responders')),
    isGone: () => true,
    lost: (silentMs) => new HeadUnreachableError(`silent for ${silentMs} ms`),
    fatal: () => undefined,
  });
  const { failed } = failureOf(probe);
  const error = await failed;
  assert.ok(error instanceof HeadUnreachableError, String(error));
  assert.match(error.message, /silent for \d+ ms/);
  probe.stop();
});
