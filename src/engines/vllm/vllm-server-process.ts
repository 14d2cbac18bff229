/**
 * One vLLM OpenAI-compatible server process per worker: started on a free loopback port with a
 * random API key, considered ready when `GET /health` answers 200, stopped (its whole process group,
 * since vLLM forks helpers) on dispose or when this process exits.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { AbortedError, TimeoutError, UnsupportedError, WorkerFailedError } from '../../core/errors.js';
import type { VllmLaunch } from './vllm-params.js';

export interface VllmServer {
  baseUrl: string;
  apiKey: string;
  pid: number;
  stop(): Promise<void>;
}

/** A head that exits must not leave GPU-holding servers behind: one listener kills them all. */
const killOnExit = new Set<() => void>();
process.on('exit', () => {
  for (const kill of killOnExit) kill();
});

/** How often `/health` is asked while the model loads. */
const HEALTH_POLL_MS = 250;
/** How long a stopped server gets to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL_CHARS = 2_000;

/** Fails with `UnsupportedError` when `python3 -c "import vllm"` fails. */
export function assertVllmInstalled(python: string, environment: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', 'import vllm'], { timeout: 120_000, env: environment }, (error) => {
      if (!error) return resolve();
      const missingPython = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new UnsupportedError(
          missingPython
            ? `the vllm backend needs ${python} with vLLM installed, and ${python} is not on PATH`
            : `vLLM is not installed for ${python} (${python} -c "import vllm" failed); install it with "pip install vllm" on a GPU machine, or set backend.command / BYZERLLM_VLLM_COMMAND to a vLLM server command`,
        ),
      );
    });
  });
}

export async function startVllmServer(
  launch: VllmLaunch,
  options: { signal?: AbortSignal; environment: NodeJS.ProcessEnv },
): Promise<VllmServer> {
  const port = await freePort();
  const apiKey = `byzerllm-${randomBytes(16).toString('hex')}`;
  const [program, ...leading] = launch.command as [string, ...string[]];
  const args = [
    ...leading,
    ...launch.flags,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--api-key',
    apiKey,
  ];
  const environment: NodeJS.ProcessEnv = { ...options.environment };
  if (launch.cudaVisibleDevices !== undefined) environment.CUDA_VISIBLE_DEVICES = launch.cudaVisibleDevices;
  // Its own process group, so stopping it also stops the helpers vLLM forks.
  const child = spawn(program, args, { env: environment, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keepTail = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.setEncoding('utf8').on('data', keepTail);
  child.stderr.setEncoding('utf8').on('data', keepTail);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not start: ${error.message}`));
    child.once('exit', (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (!running || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onExit = () => killGroup('SIGKILL');
  killOnExit.add(onExit);
  const stop = async () => {
    killOnExit.delete(onExit);
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const commandText = launch.command.join(' ');
  try {
    await waitForHealth(baseUrl, launch.startupTimeoutMs, exited, options.signal, (reason) => {
      const tail = output.trim().split('\n').slice(-5).join(' | ');
      return new WorkerFailedError(
        `the vLLM server (${commandText}) ${reason} before it was ready${tail ? `: ${tail}` : ''}`,
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, apiKey, pid: child.pid ?? 0, stop };
}

async function waitForHealth(
  baseUrl: string,
  timeoutMs: number,
  exited: Promise<string>,
  signal: AbortSignal | undefined,
  failure: (reason: string) => Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitReason: string | undefined;
  void exited.then((reason) => {
    exitReason = reason;
  });
  while (true) {
    if (exitReason !== undefined) throw failure(exitReason);
    if (signal?.aborted) throw new AbortedError('the deployment was cancelled while vLLM was starting');
    if (Date.now() > deadline) {
      throw new TimeoutError(
        `the vLLM server did not answer ${baseUrl}/health within ${Math.round(timeoutMs / 1000)} s (backend.startup_timeout)`,
      );
    }
    const healthy = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await Promise.race([new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS)), exited]);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
