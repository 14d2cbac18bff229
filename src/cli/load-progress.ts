/**
 * The progress line `byzerllm deploy` shows while a local model loads.
 *
 * Local workers write `loading: N%`, `ready: …` and `failed to load: …` lines to their log files
 * (`<state dir>/logs/workers/<model>/<n>.log`, see cluster/worker/worker-main.ts); the deploy command
 * runs on the same machine as a local head, so it reads what is appended to those files while the
 * deploy request is open. On a terminal one line is rewritten in place and cleared at the end;
 * otherwise each change is a plain line (`tiny#0: loading 40%`), so logs and CI output stay readable.
 */
import fsPromises from 'node:fs/promises';
import { workerLogPath } from '../cluster/index.js';
import { readAppended } from './log-files.js';

/** How often the log files are read: this is a display, not a synchronisation. */
const POLL_MS = 200;
const STATUS_LINE = /(?:loading: (\d+)%|(ready):|(failed to load):)/;

export interface LoadProgressOptions {
  stateDirectory: string;
  deployment: string;
  workers: number;
  stream: NodeJS.WriteStream;
}

/** Starts showing progress; the returned function shows the last changes and stops. */
export async function showLoadProgress(options: LoadProgressOptions): Promise<() => Promise<void>> {
  const files = Array.from({ length: options.workers }, (_, index) =>
    workerLogPath(options.stateDirectory, options.deployment, index),
  );
  // Only what this deploy appends: a log can hold earlier deployments of the same name.
  const offsets = await Promise.all(files.map((file) => fileSize(file)));
  const states: string[] = files.map(() => 'starting');
  const terminal = options.stream.isTTY === true;
  let lineShown = false;
  let polling = Promise.resolve();

  const poll = async () => {
    for (const [index, file] of files.entries()) {
      const { text, next } = await readAppended(file, offsets[index]!);
      offsets[index] = next;
      for (const line of text.split('\n')) {
        const match = STATUS_LINE.exec(line);
        if (!match) continue;
        const state = match[1] !== undefined ? `loading ${match[1]}%` : match[2] ? 'ready' : 'failed';
        if (state === states[index]) continue;
        states[index] = state;
        if (!terminal) options.stream.write(`${options.deployment}#${index}: ${state}\n`);
      }
    }
    if (terminal) {
      const workers = states.map((state, index) => `#${index} ${state}`).join('  ');
      options.stream.write(`\r\x1b[Kloading ${options.deployment}: ${workers}`);
      lineShown = true;
    }
  };
  const timer = setInterval(() => {
    polling = polling.then(poll).catch(() => {});
  }, POLL_MS);
  return async () => {
    clearInterval(timer);
    await polling;
    await poll().catch(() => {});
    if (terminal && lineShown) options.stream.write('\r\x1b[K');
  };
}

async function fileSize(file: string): Promise<number> {
  return (await fsPromises.stat(file).catch(() => undefined))?.size ?? 0;
}
