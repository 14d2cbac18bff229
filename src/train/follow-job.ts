/**
 * Watching a job: its progress events as they are written, until the job ends.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { resolveStateDirectory } from '../cluster/index.js';
import {
  ACTIVE_STATUSES,
  type JobRecord,
  jobDirectory,
  type ProgressEvent,
  readCheckedJob,
  readProgress,
} from './job-store.js';

/**
 * Yields every progress event (from the first, or from `from`) and returns the final record when
 * the job is no longer active. Polls the job's files every `intervalMs` (default 250).
 */
export async function* followTrainingJob(
  name: string,
  options: { stateDirectory?: string; intervalMs?: number; signal?: AbortSignal; from?: number } = {},
): AsyncGenerator<ProgressEvent, JobRecord> {
  const directory = jobDirectory(options.stateDirectory ?? resolveStateDirectory(), name);
  let seen = options.from ?? 0;
  for (;;) {
    const record = await readCheckedJob(directory);
    const events = await readProgress(directory);
    for (const event of events.slice(seen)) yield event;
    seen = events.length;
    if (!ACTIVE_STATUSES.includes(record.status)) {
      // Events written between the two reads.
      const last = await readProgress(directory);
      for (const event of last.slice(seen)) yield event;
      return record;
    }
    await delay(options.intervalMs ?? 250, undefined, options.signal ? { signal: options.signal } : {});
  }
}
