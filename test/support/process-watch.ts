/** Watching processes a test did not start (a node agent's job supervisor and workers). */
import assert from 'node:assert/strict';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once `pid` has ended; fails after `timeoutMs`. Such a process is not the test's child,
 * so there is no exit event to wait on: its end is polled, as the condition the test is about.
 */
export async function untilGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) assert.fail(`process ${pid} is still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
