/**
 * The Python side of training: which interpreter runs it, where the trainer package is, and the
 * check that PyTorch is there before any work starts.
 *
 * The interpreter is `$BYZERLLM_PYTHON` or `/usr/bin/python3` — Debian's, which sees Debian's
 * `python3-torch`; a `python3` earlier on PATH (pyenv shims, virtualenvs) often does not. The trainer
 * package ships in the npm package under `python/`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UnsupportedError } from '../core/index.js';

/** `python/` of the package (this file runs from `dist/src/train/`). */
export const PYTHON_PACKAGE_ROOT = fileURLToPath(new URL('../../../python/', import.meta.url));

export const TORCH_INSTALL_HINT = 'apt-get install -y python3-torch';

export function pythonExecutable(): string {
  return process.env.BYZERLLM_PYTHON ?? '/usr/bin/python3';
}

/** The environment a trainer process runs in: PYTHONPATH reaches the package; no user site. */
export function pythonEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: PYTHON_PACKAGE_ROOT,
    PYTHONUNBUFFERED: '1',
    PYTHONNOUSERSITE: '1',
    ...extra,
  };
}

const checkSchema = z.object({
  python: z.string(),
  torch: z.string(),
  cuda_devices: z.number().int().min(0),
  gloo: z.boolean(),
  nccl: z.boolean(),
});
export type TorchRuntime = z.infer<typeof checkSchema>;

/** Runs `python3 -m byzerllm_train check`; a one-line error says how to install what is missing. */
export function checkTorchRuntime(): Promise<TorchRuntime> {
  const python = pythonExecutable();
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ['-m', 'byzerllm_train', 'check'],
      { env: pythonEnvironment(), timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new UnsupportedError(
              `training needs Python 3 at ${python}, which is missing; install it with: apt-get install -y python3 python3-torch (or set BYZERLLM_PYTHON)`,
            ),
          );
          return;
        }
        if (/No module named '?torch'?/.test(stderr)) {
          reject(
            new UnsupportedError(
              `PyTorch is not installed for ${python}; install it with: ${TORCH_INSTALL_HINT} (or set BYZERLLM_PYTHON to a python with torch)`,
            ),
          );
          return;
        }
        const parsed = error ? undefined : checkSchema.safeParse(safeJson(stdout));
        if (!parsed?.success) {
          const detail = stderr.trim().split('\n').pop() ?? error?.message ?? 'no output';
          reject(new UnsupportedError(`${python} -m byzerllm_train check failed: ${detail}`));
          return;
        }
        resolve(parsed.data);
      },
    );
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
