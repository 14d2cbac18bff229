/**
 * The inner layer of the `impl` sandbox: QuickJS compiled to WebAssembly (quickjs-emscripten), run
 * inside the sandbox worker thread (`sandbox-worker.ts`), never on the host's event loop.
 *
 * The code runs in a separate JS engine inside a WASM memory: it has no `require`, no `process`, no
 * file system, no network and no timers — only the ECMAScript built-ins. Each run gets a fresh
 * runtime with a memory limit and a deadline enforced by QuickJS's interrupt handler. That handler
 * is only polled by interpreted code, not inside long built-ins (`indexOf` over a 1e12 `length`), so
 * the outer layer (`sandbox.ts`) also kills the whole thread at a hard deadline.
 * Values cross the boundary as JSON text only.
 */
import { newQuickJSWASMModuleFromVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';

import { type SandboxOptions, type SandboxOutcome, timeoutReason } from './sandbox-protocol.js';

let modulePromise: Promise<QuickJSWASMModule> | undefined;

export function loadQuickJs(): Promise<QuickJSWASMModule> {
  modulePromise ??= newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'));
  return modulePromise;
}

/**
 * Defines `source` (which must declare a function named `functionName`), calls it with `args`
 * (one argument: the arguments object), awaits a returned promise, and returns the JSON result.
 */
export async function runInQuickJs(
  source: string,
  functionName: string,
  args: unknown,
  options: SandboxOptions = {},
): Promise<SandboxOutcome> {
  const module = await loadQuickJs();
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
      reason: timeoutReason(timeoutMs),
    };
  const described =
    typeof error === 'object' && error !== null && 'message' in error
      ? `${(error as { name?: string }).name ?? 'Error'}: ${(error as { message: string }).message}`
      : String(error);
  return { ok: false, reason: described };
}
