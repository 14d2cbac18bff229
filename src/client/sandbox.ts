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
 * to stop it first, with the same message) after the thread took the job, whatever the code does.
 * A thread runs one job and is discarded; one spare is kept loaded so runs do not wait for startup.
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

/** Loading QuickJS in a fresh thread takes ~50 ms idle; this bounds the wait on a starved machine. */
const STARTUP_LIMIT_MS = 15_000;
/** Time QuickJS's own interrupt gets to stop the code before the thread is terminated. */
const GRACE_MS = 300;

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

/**
 * A started sandbox thread: `ready` settles once QuickJS is loaded (true) or the thread failed first
 * (false, with `failure` set). One spare is kept started (unref'd: it never keeps the process alive)
 * so a run does not wait for a thread and QuickJS to load.
 */
interface SandboxThread {
  worker: Worker;
  ready: Promise<boolean>;
  failure?: string;
}

let spare: SandboxThread | undefined;

function startThread(): SandboxThread {
  const worker = new Worker(new URL('./sandbox-worker.js', import.meta.url), {
    resourceLimits: RESOURCE_LIMITS,
    env: {},
    execArgv: [],
  });
  const thread: SandboxThread = { worker, ready: Promise.resolve(false) };
  thread.ready = new Promise<boolean>((resolve) => {
    const fail = (reason: string) => {
      thread.failure ??= reason;
      resolve(false);
    };
    worker.once('message', (raw: unknown) => {
      const message = sandboxMessageSchema.safeParse(raw);
      if (message.success && message.data.type === 'ready') resolve(true);
      else
        fail(
          message.success && message.data.type === 'failure'
            ? message.data.reason
            : 'the sandbox sent an invalid message',
        );
    });
    worker.once('error', (error) => fail(`the sandbox failed: ${describe(error)}`));
    worker.once('exit', (exitCode) =>
      fail(`the sandbox stopped before it was ready (exit code ${exitCode})`),
    );
  });
  return thread;
}

/** The spare thread, or a new one. */
function takeThread(): SandboxThread {
  const taken = spare ?? startThread();
  spare = undefined;
  taken.worker.ref();
  return taken;
}

/**
 * Starts the spare for the next run once a run is over: loading QuickJS compiles WebAssembly, and
 * doing it during a run would steal CPU from the code under its deadline.
 */
function prepareSpare(): void {
  if (spare) return;
  try {
    spare = startThread();
    spare.worker.unref();
  } catch {
    spare = undefined;
  }
}

async function runInWorker(job: SandboxJob): Promise<SandboxOutcome> {
  let thread: SandboxThread;
  try {
    thread = takeThread();
  } catch (error) {
    return { ok: false, reason: `the sandbox could not start: ${describe(error)}` };
  }
  const { worker } = thread;
  let startupTimer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    thread.ready,
    new Promise<false>((resolve) => {
      startupTimer = setTimeout(() => resolve(false), STARTUP_LIMIT_MS);
    }),
  ]);
  clearTimeout(startupTimer);
  if (!ready) {
    void worker.terminate().catch(() => undefined);
    prepareSpare();
    return { ok: false, reason: thread.failure ?? 'the sandbox did not start in time' };
  }
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: SandboxOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      void worker.terminate().catch(() => undefined);
      prepareSpare();
    };
    timer = setTimeout(
      () => finish({ ok: false, reason: 'the sandbox did not start the job in time' }),
      STARTUP_LIMIT_MS,
    );
    worker.on('message', (raw: unknown) => {
      const message = sandboxMessageSchema.safeParse(raw);
      if (!message.success || message.data.type === 'ready') {
        return finish({ ok: false, reason: 'the sandbox sent an invalid message' });
      }
      if (message.data.type === 'started') {
        // The hard deadline: QuickJS's own interrupt gets GRACE_MS to stop the code with the same reason.
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
    worker.postMessage(job);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
