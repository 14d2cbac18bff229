/**
 * `--address auto`: find the local head, starting one if none runs (as Ray's `ray_address auto` did).
 *
 * Several commands may start at once on a machine with no head (a shell loop of queries); a start
 * lock (an atomic `mkdir`) lets exactly one of them spawn the head while the others wait for it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { HeadUnreachableError } from '../../core/index.js';
import { findRunningHead, type HeadFile, spawnHead } from './head-file.js';

export interface EnsureHeadOptions {
  stateDirectory: string;
  /** The head's entry script, used when a head has to be started. */
  entry: string;
  /** Whether to start a head when none runs. Defaults to true. */
  autoStart?: boolean;
  /** Told when a head is being started (the CLI prints it). */
  onStarting?: () => void;
  /** Extra environment for a head that has to be started. */
  environment?: Record<string, string>;
}

const LOCK_STALE_MS = 60_000;
const LOCK_POLL_MS = 50;

export async function ensureHead(options: EnsureHeadOptions): Promise<HeadFile> {
  const running = await findRunningHead(options.stateDirectory);
  if (running) return running;
  if (options.autoStart === false) {
    throw new HeadUnreachableError(
      `no head is running for ${options.stateDirectory}; start one with \`byzerllm start\``,
    );
  }
  const lock = path.join(options.stateDirectory, 'start.lock');
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (await tryLock(lock)) {
      try {
        const again = await findRunningHead(options.stateDirectory);
        if (again) return again;
        options.onStarting?.();
        return await spawnHead({
          stateDirectory: options.stateDirectory,
          entry: options.entry,
          ...(options.environment ? { environment: options.environment } : {}),
        });
      } finally {
        await fs.rm(lock, { recursive: true, force: true });
      }
    }
    // Another command is starting the head: wait for it to finish, then use its head.
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    const started = await findRunningHead(options.stateDirectory);
    if (started && !(await exists(lock))) return started;
    if (Date.now() > deadline) {
      throw new HeadUnreachableError(
        `timed out waiting for another command to start the head (lock ${lock})`,
      );
    }
  }
}

async function tryLock(lock: string): Promise<boolean> {
  try {
    await fs.mkdir(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const stat = await fs.stat(lock).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > LOCK_STALE_MS)
      await fs.rm(lock, { recursive: true, force: true });
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
