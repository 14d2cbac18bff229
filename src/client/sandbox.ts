/**
 * A sandbox for model-written JavaScript: QuickJS compiled to WebAssembly (quickjs-emscripten).
 *
 * The code runs in a separate JS engine inside a WASM memory: it has no `require`, no `process`, no
 * file system, no network and no timers — only the ECMAScript built-ins. Each run gets a fresh
 * runtime with a memory limit and a deadline enforced by QuickJS's interrupt handler, so an endless
 * loop (sync, or async through promise jobs) is stopped and the host process is unharmed.
 * Values cross the boundary as JSON text only.
 */
import { newQuickJSWASMModuleFromVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { TimeoutError } from '../core/index.js';

export interface SandboxOptions {
  /** Defaults to 1000 ms. */
  timeoutMs?: number;
  /** Defaults to 32 MiB. */
  memoryBytes?: number;
}

export type SandboxOutcome = { ok: true; value: unknown } | { ok: false; reason: string };

let modulePromise: Promise<QuickJSWASMModule> | undefined;

function quickJs(): Promise<QuickJSWASMModule> {
  modulePromise ??= newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'));
  return modulePromise;
}

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
  const module = await quickJs();
  const runtime = module.newRuntime();
  const timeoutMs = options.timeoutMs ?? 1000;
  runtime.setMemoryLimit(options.memoryBytes ?? 32 * 1024 * 1024);
  runtime.setMaxStackSize(1024 * 1024);
  const context = runtime.newContext();
  // Wall-clock deadline, started once the runtime and context exist: only the generated code counts.
  const deadline = Date.now() + timeoutMs;
  runtime.setInterruptHandler(() => Date.now() > deadline);
  const timedOut = () => Date.now() > deadline;
  try {
    const program = `${source}
;globalThis.__outcome = undefined;
Promise.resolve()
  .then(() => ${functionName}(${JSON.stringify(args ?? {})}))
  .then(
    (value) => { globalThis.__outcome = JSON.stringify({ ok: true, value: value === undefined ? null : value }); },
    (error) => { globalThis.__outcome = JSON.stringify({ ok: false, reason: String(error) }); },
  );`;
    const evaluated = context.evalCode(program, 'generated.js');
    if (evaluated.error) {
      const error = context.dump(evaluated.error);
      evaluated.error.dispose();
      return failure(error, timedOut(), timeoutMs);
    }
    evaluated.value.dispose();
    const jobs = runtime.executePendingJobs(-1);
    if (jobs.error) {
      const error = context.dump(jobs.error);
      jobs.error.dispose();
      return failure(error, timedOut(), timeoutMs);
    }
    const outcomeHandle = context.getProp(context.global, '__outcome');
    const outcome = context.dump(outcomeHandle);
    outcomeHandle.dispose();
    if (typeof outcome !== 'string') {
      return { ok: false, reason: `${functionName} never finished (it awaits something that never settles)` };
    }
    const parsed = JSON.parse(outcome) as SandboxOutcome;
    // An interrupt inside a promise job arrives as a rejection: report it as the timeout it is.
    if (!parsed.ok && timedOut()) return failure(parsed.reason, true, timeoutMs);
    return parsed;
  } finally {
    context.dispose();
    runtime.dispose();
  }
}

function failure(error: unknown, timedOut: boolean, timeoutMs: number): SandboxOutcome {
  if (timedOut)
    return {
      ok: false,
      reason: new TimeoutError(`the generated code ran longer than ${timeoutMs} ms and was stopped`).message,
    };
  const described =
    typeof error === 'object' && error !== null && 'message' in error
      ? `${(error as { name?: string }).name ?? 'Error'}: ${(error as { message: string }).message}`
      : String(error);
  return { ok: false, reason: described };
}
