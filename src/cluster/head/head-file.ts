/**
 * The head file (`<state dir>/head.json`, mode 0600): how local commands find the running head.
 *
 * Written by the head once it listens, removed when it stops. It holds the admin token, so only the
 * user who started the head can read it. A head file whose process is gone is stale and ignored.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { HeadUnreachableError } from '../../core/index.js';
import { ensureStateDirectory, writeFileAtomic } from '../state-store.js';

const headFileSchema = z.object({
  pid: z.number().int().positive(),
  /** `http://127.0.0.1:PORT` */
  address: z.string().regex(/^https?:\/\/[^\s/]+$/),
  token: z.string().min(1),
  version: z.string(),
  startedAt: z.string(),
});
export type HeadFile = z.infer<typeof headFileSchema>;

export function headFilePath(stateDirectory: string): string {
  return path.join(stateDirectory, 'head.json');
}

export function headLogPath(stateDirectory: string): string {
  return path.join(stateDirectory, 'logs', 'head.log');
}

/**
 * Where the process transport writes a local worker's output (its stdout and stderr, plus one line
 * per start): `<state dir>/logs/workers/<deployment>/<worker index>.log`. Deployment names are
 * letters, digits, `_` and `-`, so they are safe as folder names.
 */
export function workerLogPath(stateDirectory: string, deployment: string, workerIndex: number): string {
  return path.join(stateDirectory, 'logs', 'workers', deployment, `${workerIndex}.log`);
}

export async function writeHeadFile(stateDirectory: string, head: HeadFile): Promise<void> {
  await writeFileAtomic(headFilePath(stateDirectory), `${JSON.stringify(head, null, 2)}\n`, 0o600);
}

export async function removeHeadFile(stateDirectory: string, pid: number): Promise<void> {
  const current = await readHeadFile(stateDirectory);
  if (current?.pid === pid) await fsPromises.rm(headFilePath(stateDirectory), { force: true });
}

/** The head file, or undefined when there is none or it is not one (a torn or foreign file). */
export async function readHeadFile(stateDirectory: string): Promise<HeadFile | undefined> {
  try {
    const parsed = headFileSchema.safeParse(
      JSON.parse(await fsPromises.readFile(headFilePath(stateDirectory), 'utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The head file of a live head process, or undefined. Throws when the state directory is not safely
 * ours (`ensureStateDirectory`): a head file there could have been planted by another user.
 */
export async function findRunningHead(stateDirectory: string): Promise<HeadFile | undefined> {
  await ensureStateDirectory(stateDirectory);
  const head = await readHeadFile(stateDirectory);
  if (!head || !isProcessAlive(head.pid)) return undefined;
  return head;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SpawnHeadOptions {
  stateDirectory: string;
  /** The head's entry script (run with this Node binary). */
  entry: string;
  /** Milliseconds to wait for the head to say it is ready. Defaults to 30 s. */
  readyTimeoutMs?: number;
  /** Extra environment for the process (e.g. the NATS address of a cluster head). */
  environment?: Record<string, string>;
  /** Its log file. Defaults to `<state dir>/logs/head.log`. */
  logFile?: string;
}

/**
 * Starts a head in the background, detached from this process, and resolves with its head file once
 * it prints its ready line. Its own output goes to `<state dir>/logs/head.log`.
 */
export async function spawnHead<Ready = HeadFile>(options: SpawnHeadOptions): Promise<Ready> {
  const logFile = options.logFile ?? headLogPath(options.stateDirectory);
  await fsPromises.mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const log = fs.openSync(logFile, 'a', 0o600);
  const logOffset = fs.fstatSync(log).size;
  const child = spawn(process.execPath, [options.entry], {
    detached: true,
    stdio: ['ignore', 'pipe', log],
    env: {
      ...process.env,
      ...options.environment,
      BYZERLLM_HOME: options.stateDirectory,
      BYZERLLM_HEAD_NOTIFY: '1',
    },
  });
  fs.closeSync(log);
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  try {
    return await new Promise<Ready>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      const timer = setTimeout(
        () =>
          reject(
            new HeadUnreachableError(`the head did not start within ${timeoutMs / 1000}s; see ${logFile}`),
          ),
        timeoutMs,
      );
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as Ready);
        } catch {
          reject(new HeadUnreachableError(`the head printed an unexpected ready line; see ${logFile}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        const reason = startFailure(logFile, logOffset);
        reject(
          new HeadUnreachableError(
            `the head exited with code ${code} while starting${reason ? `: ${reason}` : ''}; see ${logFile}`,
          ),
        );
      });
    });
  } finally {
    child.stdout?.destroy();
    child.unref();
  }
}

/** The reason a head or node process logged as its last "failed to start: …" line, if any. */
function startFailure(logFile: string, offset: number): string | undefined {
  try {
    const lines = fs.readFileSync(logFile).subarray(offset).toString('utf8').split('\n');
    const last = lines.findLast((line) => line.includes('] failed to start: '));
    return last?.slice(last.indexOf('] failed to start: ') + '] failed to start: '.length);
  } catch {
    return undefined;
  }
}
