/**
 * The console's view of the training jobs on this machine (`$BYZERLLM_HOME/jobs`, as `byzerllm jobs`
 * shows them): the list, and one job's loss points and log lines for its chart and log panel.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveStateDirectory } from '../cluster/index.js';
import type { ConsoleJobDetail, ConsoleJobs } from '../server/index.js';
import { jobDirectory, listTrainingJobs, type ProgressEvent, readTrainingProgress } from '../train/index.js';

/** Log lines sent to the page: the newest ones. */
const LOG_LINES = 200;
/** Bytes read from the end of each log file. */
const LOG_TAIL_BYTES = 16 * 1024;

export function createConsoleJobs(): ConsoleJobs {
  return {
    async list() {
      const records = await listTrainingJobs();
      return records
        .map((record) => ({
          name: record.name,
          kind: record.kind,
          status: record.status,
          createdAt: record.createdAt,
          ...(record.reason ? { reason: record.reason } : {}),
          ...(record.lastStep ? { lastStep: record.lastStep } : {}),
        }))
        .sort((left, right) => right.createdAt.localeCompare(left.createdAt));
    },
    async detail(name) {
      const events = await readTrainingProgress(name);
      const logs = path.join(jobDirectory(resolveStateDirectory(), name), 'logs');
      const files = ['supervisor.log', 'worker-0.log'];
      const tails = await Promise.all(files.map((file) => tail(path.join(logs, file))));
      return {
        points: lossPoints(events),
        log: [
          ...events.map(eventLine),
          ...tails.flatMap((lines, index) => lines.map((line) => `${files[index]}: ${line}`)),
        ].slice(-LOG_LINES),
      };
    },
  };
}

function lossPoints(events: ProgressEvent[]): ConsoleJobDetail['points'] {
  const byStep = new Map<number, ConsoleJobDetail['points'][number]>();
  for (const event of events) {
    if (typeof event.step !== 'number') continue;
    if (event.event === 'step') {
      const loss = typeof event.loss === 'number' ? event.loss : null;
      byStep.set(event.step, { ...byStep.get(event.step), step: event.step, loss });
    } else if (event.event === 'eval' && typeof event.eval_loss === 'number') {
      const known = byStep.get(event.step) ?? { step: event.step, loss: null };
      byStep.set(event.step, { ...known, evalLoss: event.eval_loss });
    }
  }
  return [...byStep.values()].sort((left, right) => left.step - right.step);
}

/** `2026-12-07T20:08:13Z step step=2 loss=7.67 …`: numbers shortened, the time to seconds. */
function eventLine(event: ProgressEvent): string {
  const fields = Object.entries(event)
    .filter(([key]) => key !== 'time' && key !== 'event')
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'number' ? Number(value.toPrecision(5)) : JSON.stringify(value)}`,
    );
  return `${event.time.slice(0, 19)}Z ${event.event} ${fields.join(' ')}`.trimEnd();
}

async function tail(file: string): Promise<string[]> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    // A cut first line is dropped: the tail starts at a line boundary.
    return size > length ? lines.slice(1) : lines;
  } finally {
    await handle.close();
  }
}
