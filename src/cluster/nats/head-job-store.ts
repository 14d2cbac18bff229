/**
 * Where a NATS head keeps its training-job records, so that `jobs list|show|logs|plot` still answer
 * after the head restarts: `$BYZERLLM_HOME/cluster-jobs/<name>/` (folder mode 0700) with
 *
 * | file | content |
 * |---|---|
 * | `job.json` | `storedJobSchema`: the node's record, the node, the room it holds (written atomically, mode 0600) |
 * | `events.jsonl` | the progress events, one JSON object a line, appended before `job.json` is written (mode 0600) |
 *
 * Both are zod-parsed on load; a job whose record does not parse is reported and skipped, never
 * fatal. A crash mid-append can leave a torn last line: it is dropped, and since the head counts the
 * node's events from this file (every event but the head's own, `source: "head"`), it then asks the
 * node for the rest (head-jobs.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../state-store.js';
import { type ClusterJobRecord, type JobProgressEvent, jobRecordSchema } from './job-messages.js';

export const storedJobSchema = z.object({
  version: z.literal(1),
  node: z.string().min(1),
  /** The CPUs and GPUs the job holds on its node while active. */
  cpus: z.number().int().nonnegative(),
  gpus: z.number().int().nonnegative(),
  record: jobRecordSchema,
});
export type StoredJob = z.infer<typeof storedJobSchema>;

export interface LoadedJob {
  stored: StoredJob;
  events: JobProgressEvent[];
}

const eventSchema = z.record(z.string(), z.unknown());

export class HeadJobStore {
  /** Writes go one after another, so a record never overtakes the events it counts. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly directory: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Every stored job; the unreadable ones are logged and left out. */
  async load(): Promise<LoadedJob[]> {
    const entries = await fs.readdir(this.directory, { withFileTypes: true }).catch(() => []);
    const jobs: LoadedJob[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      try {
        jobs.push(await this.loadOne(entry.name));
      } catch (error) {
        this.log(`skipping the stored training job ${entry.name}: ${(error as Error).message}`);
      }
    }
    return jobs;
  }

  /** Appends `events` (may be none), then writes the record. Never rejects (see `queue`). */
  save(stored: StoredJob, events: readonly JobProgressEvent[] = []): Promise<void> {
    return this.queue(async () => {
      const folder = this.folder(stored.record.name);
      await fs.mkdir(folder, { recursive: true, mode: 0o700 });
      if (events.length > 0) {
        const lines = events.map((event) => `${JSON.stringify(event)}\n`).join('');
        await fs.appendFile(path.join(folder, 'events.jsonl'), lines, { mode: 0o600 });
      }
      await writeFileAtomic(path.join(folder, 'job.json'), `${JSON.stringify(stored, null, 2)}\n`, 0o600);
    });
  }

  remove(name: string): Promise<void> {
    return this.queue(() => fs.rm(this.folder(name), { recursive: true, force: true }));
  }

  private async loadOne(name: string): Promise<LoadedJob> {
    const folder = this.folder(name);
    const stored = storedJobSchema.parse(
      JSON.parse(await fs.readFile(path.join(folder, 'job.json'), 'utf8')),
    );
    if (stored.record.name !== name) throw new Error(`its job.json names job ${stored.record.name}`);
    const text = await fs.readFile(path.join(folder, 'events.jsonl'), 'utf8').catch(() => '');
    const events: JobProgressEvent[] = [];
    for (const line of text.split('\n')) {
      const parsed = eventSchema.safeParse(parseJson(line));
      if (parsed.success) events.push(parsed.data);
    }
    return { stored, events };
  }

  private folder(name: string): string {
    return path.join(this.directory, name);
  }

  /** Runs `run` after the writes before it; a failure is logged (the records in memory go on). */
  private queue(run: () => Promise<void>): Promise<void> {
    this.writing = this.writing
      .then(run)
      .catch((error: unknown) =>
        this.log(`could not write the training-job records: ${(error as Error).message}`),
      );
    return this.writing;
  }
}

export function placedRecord(
  stored: Pick<StoredJob, 'record' | 'node'>,
): ClusterJobRecord & { node: string } {
  return { ...stored.record, node: stored.node };
}

function parseJson(line: string): unknown {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
