/**
 * Where training jobs live: `$BYZERLLM_HOME/jobs/<name>/`.
 *
 * | path | content |
 * |---|---|
 * | `job.json` | the record below (atomic writes, mode 0600; the folder is 0700) |
 * | `progress.jsonl` | one JSON object per event: step, eval, checkpoint, status… with `time` |
 * | `data/` | `examples.jsonl` (the validated rows), `train.tokens`, `eval.tokens`, `base.gguf` |
 * | `checkpoints/` | `step-N/state.pt` and `latest` |
 * | `output/` | the trainer's `adapter/` and `merged/` folders |
 * | `logs/` | `supervisor.log`, `worker-<rank>.log` |
 *
 * Only the job's supervisor writes the record while it lives; readers that find a job "running"
 * whose supervisor is gone mark it failed with that reason, so no job stays running forever.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../cluster/index.js';
import { NotFoundError } from '../core/index.js';
import { JOB_NAME_PATTERN, trainingOptionsSchema } from './training-options.js';

export const JOB_STATUSES = [
  'queued',
  'preparing',
  'running',
  'exporting',
  'deploying',
  'succeeded',
  'failed',
  'stopped',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE_STATUSES: readonly JobStatus[] = [
  'queued',
  'preparing',
  'running',
  'exporting',
  'deploying',
];

export const jobRecordSchema = z.object({
  version: z.literal(1),
  name: z.string().regex(JOB_NAME_PATTERN),
  kind: z.enum(['finetune', 'pretrain']),
  options: trainingOptionsSchema,
  status: z.enum(JOB_STATUSES),
  /** Why the job failed or stopped, one line. */
  reason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Supervisor runs so far (1 + resumes). */
  attempts: z.number().int().min(0),
  supervisorPid: z.number().int().optional(),
  workerPids: z.array(z.number().int()).default([]),
  /**
   * The worker whose end failed the job (global rank): `signal` when it was killed from outside,
   * which a cluster's head prefers as the cause over a peer that exited because it was gone.
   */
  failure: z
    .object({
      worker: z.number().int(),
      pid: z.number().int(),
      signal: z.string().nullable(),
      code: z.number().int().nullable(),
    })
    .optional(),
  /** What the job produced, once it succeeded: under `$BYZERLLM_HOME/models/<name>/`. */
  outputs: z
    .object({
      modelDirectory: z.string(),
      huggingFace: z.string(),
      gguf: z.string(),
      adapter: z.string().optional(),
      adapterGguf: z.string().optional(),
    })
    .optional(),
  deployment: z
    .object({ name: z.string(), status: z.enum(['deployed', 'failed']), error: z.string().optional() })
    .optional(),
  /** The last step event (for `jobs list`). */
  lastStep: z.object({ step: z.number(), totalSteps: z.number(), loss: z.number().nullable() }).optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export function jobsDirectory(stateDirectory: string): string {
  return path.join(stateDirectory, 'jobs');
}

export function jobDirectory(stateDirectory: string, name: string): string {
  return path.join(jobsDirectory(stateDirectory), name);
}

export function jobPaths(directory: string) {
  return {
    record: path.join(directory, 'job.json'),
    progress: path.join(directory, 'progress.jsonl'),
    data: path.join(directory, 'data'),
    examples: path.join(directory, 'data', 'examples.jsonl'),
    trainTokens: path.join(directory, 'data', 'train.tokens'),
    evalTokens: path.join(directory, 'data', 'eval.tokens'),
    baseGguf: path.join(directory, 'data', 'base.gguf'),
    trainerSpec: path.join(directory, 'trainer.json'),
    checkpoints: path.join(directory, 'checkpoints'),
    output: path.join(directory, 'output'),
    logs: path.join(directory, 'logs'),
  };
}

export async function readJobRecord(directory: string): Promise<JobRecord> {
  const text = await fs.readFile(jobPaths(directory).record, 'utf8').catch(() => undefined);
  if (text === undefined) throw new NotFoundError(`training job ${path.basename(directory)} does not exist`);
  return jobRecordSchema.parse(JSON.parse(text));
}

/** Written atomically (temporary file, fsync, rename) and readable by this user only, like all state. */
export async function writeJobRecord(directory: string, record: JobRecord): Promise<void> {
  const content = `${JSON.stringify({ ...record, updatedAt: new Date().toISOString() }, null, 2)}\n`;
  await writeFileAtomic(jobPaths(directory).record, content, 0o600);
}

export async function updateJobRecord(
  directory: string,
  change: (record: JobRecord) => JobRecord,
): Promise<JobRecord> {
  const updated = change(await readJobRecord(directory));
  await writeJobRecord(directory, updated);
  return updated;
}

/** Appends one event (with `time`) to `progress.jsonl`. */
export async function appendProgress(directory: string, event: Record<string, unknown>): Promise<void> {
  await fs.appendFile(
    jobPaths(directory).progress,
    `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`,
    { mode: 0o600 },
  );
}

export const progressEventSchema = z.looseObject({ time: z.string(), event: z.string() });
export type ProgressEvent = z.infer<typeof progressEventSchema> & Record<string, unknown>;

export async function readProgress(directory: string): Promise<ProgressEvent[]> {
  const text = await fs.readFile(jobPaths(directory).progress, 'utf8').catch(() => '');
  const events: ProgressEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const parsed = progressEventSchema.safeParse(safeJson(line));
    if (parsed.success) events.push(parsed.data as ProgressEvent);
  }
  return events;
}

export function isProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The record, with a dead supervisor of an active job turned into `failed` (and saved), so a job
 * whose supervisor was killed never reads as running.
 */
export async function readCheckedJob(directory: string): Promise<JobRecord> {
  const record = await readJobRecord(directory);
  if (!ACTIVE_STATUSES.includes(record.status) || isProcessAlive(record.supervisorPid)) return record;
  // Read again: the supervisor may have finished between the two looks.
  const fresh = await readJobRecord(directory);
  if (!ACTIVE_STATUSES.includes(fresh.status)) return fresh;
  const reason = `the job supervisor (pid ${fresh.supervisorPid ?? '?'}) exited while the job was ${fresh.status}`;
  // Its workers share its process group (it was started detached, as the group's leader).
  if (fresh.supervisorPid !== undefined) {
    try {
      process.kill(-fresh.supervisorPid, 'SIGKILL');
    } catch {
      // No process left in the group.
    }
  }
  await appendProgress(directory, { event: 'status', status: 'failed', reason });
  return updateJobRecord(directory, (current) => ({ ...current, status: 'failed', reason }));
}

export async function listJobNames(stateDirectory: string): Promise<string[]> {
  const entries = await fs.readdir(jobsDirectory(stateDirectory), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && JOB_NAME_PATTERN.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
