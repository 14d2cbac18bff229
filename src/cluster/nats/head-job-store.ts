/**
 * Where a NATS head keeps its training-job records, so that `jobs list|show|logs|plot` still answer
 * after the head restarts: `$BYZERLLM_HOME/cluster-jobs/<name>/` (folder mode 0700) with
 *
 * | file | content |
 * |---|---|
 * | `job.json` | `storedJobSchema`: the job's record, each part's node, ranks and record, the room per worker (written atomically, mode 0600) |
 * | `events.jsonl` | the progress events, one JSON object a line, appended before `job.json` is written (mode 0600) |
 *
 * Both are zod-parsed on load; a job whose record does not parse is reported and skipped, never
 * fatal. The events are rank 0's (part 0's node) and the head's own (`source: "head"`). A crash
 * mid-append can leave a torn last line: it is dropped, and since the head counts part 0's events
 * from this file, it then asks that node for the rest (head-job-recovery.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../state-store.js';
import { type JobProgressEvent, jobRecordSchema } from './job-messages.js';

/** One node's share of a job (job-parts.ts): its ranks and the record that node last reported. */
const storedPartSchema = z.object({
  node: z.string().min(1).max(128),
  firstRank: z.number().int().nonnegative(),
  workers: z.number().int().min(1),
  record: jobRecordSchema,
  /** Progress events received from this node so far (part 0's are recounted from events.jsonl). */
  received: z.number().int().nonnegative(),
  /** The head failed it because its node was lost. */
  lost: z.boolean(),
});

/**
 * Version 2: a job keeps one part per node (part 0 holds rank 0). Version 1 (one node, no parts)
 * never shipped in a release, so it is not read.
 */
export const storedJobSchema = z.object({
  version: z.literal(2),
  /** The room each worker holds while the job is active. */
  cpusPerWorker: z.number().int().nonnegative(),
  gpusPerWorker: z.number().int().nonnegative(),
  parts: z.array(storedPartSchema).min(1),
  /** The job's record as the head reports it (combined from its parts). */
  record: jobRecordSchema,
  /** `--deploy NAME`: the head deploys the result once the job succeeded. */
  deploy: z.string().min(1).optional(),
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

function parseJson(line: string): unknown {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
