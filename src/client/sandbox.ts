/**
 * The sandbox for model-written JavaScript (`impl`): QuickJS (WebAssembly) inside a worker thread
 * that the host kills at a hard deadline.
 *
 * Two layers, because neither is enough alone. QuickJS gives the code no `require`, `process`,
 * file system, network or timers — only the ECMAScript built-ins — and stops loops through its
 * interrupt handler. But a long built-in (`Array.prototype.indexOf.call({ length: 1e12 }, 1)`) never
 * polls that handler, and a memory bomb keeps QuickJS's allocator busy for seconds; on the host's
 * thread either would freeze every request. So each run gets its own worker thread with V8
 * `resourceLimits`, and the host terminates the thread `timeoutMs` (plus a short grace for QuickJS
 * to stop it first, with the same message) after QuickJS is loaded, whatever the code is doing.
 *
 * `runInSandbox` never throws: every failure, including the thread dying, is an outcome with a
 * `reason`. Values cross the boundary as JSON text only, parsed with zod on this side.
 */
import { Worker } from 'node:worker_threads';
import {
  type SandboxJob,
  type SandboxOptions,
  type SandboxOutcome,
  sandboxMessageSchema,
  timeoutReason,
} from './sandbox-protocol.js';

export type { SandboxOptions, SandboxOutcome } from './sandbox-protocol.js';

/** Loading QuickJS in a fresh thread takes ~50 ms idle; this bounds it on a starved machine. */
const STARTUP_LIMIT_MS = 15_000;
/** Time QuickJS's own interrupt gets to stop the code before the thread is terminated. */
const GRACE_MS = 200;

const RESOURCE_LIMITS = {
  maxOldGenerationSizeMb: 64,
  maxYoungGenerationSizeMb: 16,
  codeRangeSizeMb: 16,
  stackSizeMb: 4,
};

/**
 * Defines `source` (which must declare a function named `functionName`), calls it with `args`
 * (one argument: the arguments object), awaits a returned promise, and returns the JSON result.
 */
export async function runInSandbox(
  source: string,
  functionName: string,
  args: unknown,
  options: SandboxOptions = {},
): Promise<SandboxOutcome> {
  const timeoutMs = options.timeoutMs ?? 1000;
  let argsJson: string;
  try {
    argsJson = JSON.stringify(args ?? {});
  } catch (error) {
    return { ok: false, reason: `the arguments are not JSON: ${describe(error)}` };
  }
  const job: SandboxJob = {
    source,
    functionName,
    argsJson,
    timeoutMs,
    memoryBytes: options.memoryBytes ?? 32 * 1024 * 1024,
  };
  return runInWorker(job);
}

function runInWorker(job: SandboxJob): Promise<SandboxOutcome> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./sandbox-worker.js', import.meta.url), {
        workerData: job,
        resourceLimits: RESOURCE_LIMITS,
        env: {},
        execArgv: [],
        stdout: true,
        stderr: true,
      });
    } catch (error) {
      resolve({ ok: false, reason: `the sandbox could not start: ${describe(error)}` });
      return;
    }
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (outcome: SandboxOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      void worker.terminate().catch(() => undefined);
    };
    let timer = setTimeout(
      () => finish({ ok: false, reason: 'the sandbox did not start in time' }),
      STARTUP_LIMIT_MS,
    );
    worker.on('message', (raw: unknown) => {
      const message = sandboxMessageSchema.safeParse(raw);
      if (!message.success) return finish({ ok: false, reason: 'the sandbox sent an invalid message' });
      if (message.data.type === 'ready') {
        clearTimeout(timer);
        timer = setTimeout(
          () => finish({ ok: false, reason: timeoutReason(job.timeoutMs) }),
          job.timeoutMs + GRACE_MS,
        );
        return;
      }
      if (message.data.type === 'failure') return finish({ ok: false, reason: message.data.reason });
      try {
        finish({ ok: true, value: JSON.parse(message.data.valueJson) });
      } catch {
        finish({ ok: false, reason: 'the sandbox sent a result that is not JSON' });
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      finish({
        ok: false,
        reason:
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? 'the generated code ran out of memory and was stopped'
            : `the sandbox failed: ${describe(error)}`,
      });
    });
    worker.on('exit', (exitCode) => {
      finish({ ok: false, reason: `the sandbox stopped before answering (exit code ${exitCode})` });
    });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
