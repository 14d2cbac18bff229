/**
 * `byzerllm logs [--model NAME] [--worker N] [--follow]`: the head's log, or the log files of a
 * deployment's local workers on this machine (`<state dir>/logs/workers/<model>/<n>.log`, written
 * by the process transport: each worker's own output plus one line per start).
 *
 * SaaS deployments run inside the head, so their lines are in the head's log. With several files
 * each line is prefixed `[model#n]`; `--follow` keeps printing what is appended until Ctrl+C.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  ensureStateDirectory,
  headLogPath,
  resolveStateDirectory,
  workerLogPath,
} from '../../cluster/index.js';
import { InvalidArgumentError, NotFoundError } from '../../core/index.js';
import { readAppended } from '../log-files.js';
import { parseNonNegativeInteger } from '../options.js';

interface LogsFlags {
  model?: string;
  worker?: number;
  follow?: boolean;
}

interface LogFile {
  file: string;
  /** Printed before each line when several files are shown. */
  prefix: string;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description(
      "print the head's log, or with --model the logs of that deployment's local workers on this machine",
    )
    .option('--model <name>', "a deployment: its workers' logs (SaaS deployments log in the head's log)")
    .option('--worker <index>', 'only this worker (0-based, as in `byzerllm ps`)', parseNonNegativeInteger)
    .option('--follow', 'keep printing new lines until Ctrl+C', false)
    .action(async (flags: LogsFlags) => {
      const stateDirectory = resolveStateDirectory();
      await ensureStateDirectory(stateDirectory);
      const files = await logFiles(stateDirectory, flags);
      const offsets = new Map<string, number>();
      for (const { file, prefix } of files) offsets.set(file, await printFrom(file, 0, prefix));
      if (flags.follow) await follow(files, offsets);
    });
}

async function logFiles(stateDirectory: string, flags: LogsFlags): Promise<LogFile[]> {
  if (flags.model === undefined) {
    if (flags.worker !== undefined)
      throw new InvalidArgumentError('--worker needs --model: the deployment whose worker to show');
    const file = headLogPath(stateDirectory);
    if (!fs.existsSync(file))
      throw new NotFoundError(`no head log at ${file}: no head has run with this state`);
    return [{ file, prefix: '' }];
  }
  const model = flags.model;
  const folder = path.dirname(workerLogPath(stateDirectory, model, 0));
  const indices = (await fs.promises.readdir(folder).catch(() => []))
    .map((name) => /^(\d+)\.log$/.exec(name)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (indices.length === 0) {
    throw new NotFoundError(
      `no worker logs for ${model} on this machine (SaaS deployments log in the head's log: byzerllm logs)`,
    );
  }
  const chosen = flags.worker === undefined ? indices : indices.filter((index) => index === flags.worker);
  if (chosen.length === 0) {
    throw new NotFoundError(
      `${model} has no worker ${flags.worker} here; its workers: ${indices.join(', ')}`,
    );
  }
  return chosen.map((index) => ({
    file: workerLogPath(stateDirectory, model, index),
    prefix: chosen.length > 1 ? `[${model}#${index}] ` : '',
  }));
}

/** Prints the complete lines of `file` from byte `offset`; returns where the next read starts. */
async function printFrom(file: string, offset: number, prefix: string): Promise<number> {
  const { text, next } = await readAppended(file, offset);
  if (text !== '') process.stdout.write(prefix === '' ? text : text.replace(/^(?=.)/gm, prefix));
  return next;
}

/** Prints what is appended to the files (fs.watch events) until SIGINT or SIGTERM. */
function follow(files: LogFile[], offsets: Map<string, number>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const reading = new Map<string, Promise<void>>();
    const readMore = ({ file, prefix }: LogFile) => {
      const previous = reading.get(file) ?? Promise.resolve();
      const next = previous
        .then(async () => offsets.set(file, await printFrom(file, offsets.get(file) ?? 0, prefix)))
        .then(() => undefined, reject);
      reading.set(file, next);
    };
    const watchers = files.map((entry) => fs.watch(entry.file, () => readMore(entry)));
    const stop = () => {
      for (const watcher of watchers) watcher.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
