/**
 * The `impl` sandbox's worker thread (started by `sandbox.ts`): loads QuickJS, says `ready`, runs the
 * one job from `workerData` and posts its outcome. Anything that goes wrong here becomes an outcome
 * with a `reason`; if the thread hangs or runs out of memory the host terminates it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadQuickJs, runInQuickJs } from './quickjs-run.js';
import { type SandboxMessage, sandboxJobSchema } from './sandbox-protocol.js';

function post(message: SandboxMessage): void {
  parentPort?.postMessage(message);
}

async function main(): Promise<void> {
  const job = sandboxJobSchema.safeParse(workerData);
  if (!job.success) {
    post({ type: 'failure', reason: 'the sandbox received an invalid job' });
    return;
  }
  await loadQuickJs();
  post({ type: 'ready' });
  const { source, functionName, argsJson, timeoutMs, memoryBytes } = job.data;
  const outcome = await runInQuickJs(source, functionName, JSON.parse(argsJson), { timeoutMs, memoryBytes });
  if (outcome.ok) post({ type: 'value', valueJson: JSON.stringify(outcome.value) });
  else post({ type: 'failure', reason: outcome.reason });
}

main().catch((error: unknown) => {
  post({
    type: 'failure',
    reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
});
