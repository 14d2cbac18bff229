/**
 * The `impl` sandbox's worker thread (started by `sandbox.ts`): loads QuickJS, says `ready`, waits
 * for its one job message, runs it and posts the outcome. A thread serves one job only, so nothing
 * of one run can reach the next. Anything that goes wrong here becomes a `failure` with a reason;
 * if the thread hangs or runs out of memory the host terminates it.
 */
import { parentPort } from 'node:worker_threads';
import { loadQuickJs, runInQuickJs } from './quickjs-run.js';
import { type SandboxMessage, sandboxJobSchema } from './sandbox-protocol.js';

function post(message: SandboxMessage): void {
  parentPort?.postMessage(message);
}

async function run(raw: unknown): Promise<void> {
  const job = sandboxJobSchema.safeParse(raw);
  if (!job.success) {
    post({ type: 'failure', reason: 'the sandbox received an invalid job' });
    return;
  }
  const { source, functionName, argsJson, timeoutMs, memoryBytes } = job.data;
  post({ type: 'started' });
  const outcome = await runInQuickJs(source, functionName, JSON.parse(argsJson), { timeoutMs, memoryBytes });
  if (outcome.ok) post({ type: 'value', valueJson: JSON.stringify(outcome.value) });
  else post({ type: 'failure', reason: outcome.reason });
}

function fail(error: unknown): void {
  post({
    type: 'failure',
    reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
}

loadQuickJs().then(() => {
  parentPort?.once('message', (raw: unknown) => void run(raw).catch(fail));
  post({ type: 'ready' });
}, fail);
