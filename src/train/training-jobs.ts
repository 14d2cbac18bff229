/**
 * Training jobs from TypeScript: start, resume, stop, list, show, remove. The CLI
 * (`byzerllm finetune|pretrain|jobs …`) and Byzer-SQL's `run command as LLM` call these.
 *
 * Everything that can be checked is checked before work starts, each with a one-line error: the
 * options, the base model's architecture, every data row (naming row and field), Python and PyTorch
 * (with the apt command), and the GPUs asked for. Then the job's supervisor starts detached in its
 * own process group, so the job outlives the caller.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveStateDirectory } from '../cluster/index.js';
import {
  AlreadyExistsError,
  InsufficientResourcesError,
  InvalidArgumentError,
  NotFoundError,
} from '../core/index.js';
import { readJsonlExamples, readRowExamples, type TrainingExample } from './data-formats.js';
import { readHfModelInfo } from './hf-model.js';
import {
  ACTIVE_STATUSES,
  appendProgress,
  isProcessAlive,
  type JobRecord,
  jobDirectory,
  jobPaths,
  listJobNames,
  type ProgressEvent,
  readCheckedJob,
  readProgress,
  updateJobRecord,
  writeJobRecord,
} from './job-store.js';
import { freePort } from './free-port.js';
import { checkTorchRuntime } from './python-runtime.js';
import {
  type TrainingOptions,
  type TrainingOptionsInput,
  trainingOptionsSchema,
} from './training-options.js';

const JOB_ENTRY = fileURLToPath(new URL('./job-main.js', import.meta.url));
/** The stdin pipes of supervisors tied to this process (see `JobContext.tiedToCaller`). */
const tiedPipes = new Set<Socket>();

export interface JobContext {
  /** Defaults to `$BYZERLLM_HOME` or `~/.byzerllm`. */
  stateDirectory?: string;
  /**
   * The job ends (failed) when the calling process exits, instead of outliving it: node agents
   * set it, since a job on a node whose agent is gone can report to no one. Defaults to false.
   */
  tiedToCaller?: boolean;
  /**
   * The address other nodes reach this machine at: the rendezvous of a job spread over several
   * nodes when this node holds rank 0. Defaults to 127.0.0.1.
   */
  advertiseAddress?: string;
}

/** Validates everything, writes the job and starts its detached supervisor; returns the record. */
export async function startTrainingJob(
  input: TrainingOptionsInput,
  context: JobContext = {},
): Promise<JobRecord> {
  const stateDirectory = context.stateDirectory ?? resolveStateDirectory();
  const options = parseOptions(input);
  if (options.fromConfig && options.kind !== 'pretrain') {
    throw new InvalidArgumentError('--from_config (random initial weights) is for pretrain only');
  }
  if ((options.nodes ?? 1) > 1 && !options.distributed)
    throw new InvalidArgumentError(
      '--nodes spreads a job over the nodes of a cluster: give --address nats://…',
    );
  if (options.distributed?.nodeRank === 0 && options.distributed.masterPort === undefined) {
    // This node holds rank 0: its address and a free port are the rendezvous the head hands on.
    options.distributed = { ...options.distributed, ...(await pickRendezvous(context)) };
  }
  await readHfModelInfo(options.modelPath);
  const examples = await readExamples(options);
  const runtime = await checkTorchRuntime();
  const gpusWanted = options.gpusPerWorker * options.numWorkers;
  if (gpusWanted > runtime.cuda_devices) {
    throw new InsufficientResourcesError(
      `the job asks for ${gpusWanted} GPUs (${options.numWorkers} workers × ${options.gpusPerWorker}), torch sees ${runtime.cuda_devices} on this machine`,
    );
  }
  const name = options.name ?? defaultName(options.kind);
  const directory = jobDirectory(stateDirectory, name);
  await fs.mkdir(path.dirname(directory), { recursive: true, mode: 0o700 });
  try {
    await fs.mkdir(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AlreadyExistsError(
        `training job ${name} exists; pick another --name or remove it with: byzerllm jobs rm ${name}`,
      );
    }
    throw error;
  }
  const paths = jobPaths(directory);
  await fs.mkdir(paths.data, { recursive: true });
  await fs.writeFile(paths.examples, examples.map((example) => JSON.stringify(example)).join('\n') + '\n');
  const now = new Date().toISOString();
  const { rows: _rows, ...storedOptions } = options;
  const record: JobRecord = {
    version: 1,
    name,
    kind: options.kind,
    options: {
      ...storedOptions,
      modelPath: path.resolve(options.modelPath),
      // Rows handed over in memory (SQL tables) are not kept in the record: their validated
      // examples file stands for them, so the record still names its data.
      data: options.data ? path.resolve(options.data) : paths.examples,
    },
    status: 'queued',
    createdAt: now,
    updatedAt: now,
    attempts: 0,
    workerPids: [],
  };
  for (const warning of options.warnings)
    await appendProgress(directory, { event: 'warning', message: warning });
  await writeJobRecord(directory, record);
  return launch({ directory, stateDirectory, resume: false, tiedToCaller: context.tiedToCaller ?? false });
}

/** Where the ranks of a job spread over nodes meet: rank 0's node's address and port. */
export interface JobRendezvous {
  masterAddress: string;
  masterPort: number;
}

export interface ResumeContext extends JobContext {
  /**
   * A node's share of a job spread over several nodes, other than rank 0's: the rendezvous rank 0's
   * node picked for this run (the last run's no longer exists). The cluster's head hands it on.
   */
  rendezvous?: JobRendezvous;
}

/**
 * Starts a failed or stopped job again from its newest checkpoint. A share of a job spread over
 * nodes meets its peers at a fresh rendezvous: rank 0's node picks a new port (answered in its
 * record, as at the start), the others take `context.rendezvous`. Rank 0 sends its checkpoint to
 * the workers that lack it over that rendezvous (python/byzerllm_train/checkpoint.py).
 */
export async function resumeTrainingJob(name: string, context: ResumeContext = {}): Promise<JobRecord> {
  const stateDirectory = context.stateDirectory ?? resolveStateDirectory();
  const directory = jobDirectory(stateDirectory, checkedName(name));
  const record = await readCheckedJob(directory);
  if (record.status !== 'failed' && record.status !== 'stopped') {
    throw new InvalidArgumentError(
      `training job ${name} is ${record.status}; only failed or stopped jobs resume`,
    );
  }
  const { distributed } = record.options;
  if (distributed) {
    const rendezvous = distributed.nodeRank === 0 ? await pickRendezvous(context) : context.rendezvous;
    if (!rendezvous)
      throw new InvalidArgumentError(
        `training job ${name} is node ${distributed.nodeRank} of a job spread over ${distributed.nodeCount} nodes: it resumes with the others, at the rendezvous rank 0's node picks (jobs resume --address)`,
      );
    await updateJobRecord(directory, (current) => ({
      ...current,
      options: { ...current.options, distributed: { ...distributed, ...rendezvous } },
    }));
  }
  await appendProgress(directory, { event: 'resume' });
  return launch({ directory, stateDirectory, resume: true, tiedToCaller: context.tiedToCaller ?? false });
}

/** This node's address and a free port: the rendezvous of a spread job whose rank 0 runs here. */
async function pickRendezvous(context: JobContext): Promise<JobRendezvous> {
  return { masterAddress: context.advertiseAddress ?? '127.0.0.1', masterPort: await freePort() };
}

async function launch(options: {
  directory: string;
  stateDirectory: string;
  resume: boolean;
  tiedToCaller: boolean;
}): Promise<JobRecord> {
  const { directory, stateDirectory, resume, tiedToCaller } = options;
  const paths = jobPaths(directory);
  await fs.mkdir(paths.logs, { recursive: true });
  const log = openSync(path.join(paths.logs, 'supervisor.log'), 'a');
  try {
    const child = spawn(process.execPath, [JOB_ENTRY, directory, ...(resume ? ['--resume'] : [])], {
      detached: true,
      // Tied: the supervisor's stdin is a pipe from us, whose end tells it we exited (job-main.ts).
      stdio: [tiedToCaller ? 'pipe' : 'ignore', log, log],
      env: {
        ...process.env,
        BYZERLLM_HOME: stateDirectory,
        ...(tiedToCaller ? { BYZERLLM_JOB_TIED: '1' } : {}),
      },
    });
    child.unref();
    if (child.stdin instanceof Socket) {
      // The pipe must not keep this process alive (it closes when this process exits), and is
      // held here so that it is never collected and closed early.
      const pipe = child.stdin;
      pipe.unref();
      tiedPipes.add(pipe);
      pipe.once('close', () => tiedPipes.delete(pipe));
    }
    return await updateJobRecord(directory, (record) => {
      const { reason: _reason, failure: _failure, ...rest } = record;
      return {
        ...rest,
        status: 'queued',
        supervisorPid: child.pid,
        attempts: record.attempts + 1,
        workerPids: [],
      };
    });
  } finally {
    closeSync(log);
  }
}

/** Stops an active job (its supervisor and workers) and waits until it is marked stopped. */
export async function stopTrainingJob(name: string, context: JobContext = {}): Promise<JobRecord> {
  const directory = jobDirectory(context.stateDirectory ?? resolveStateDirectory(), checkedName(name));
  const record = await readCheckedJob(directory);
  if (!ACTIVE_STATUSES.includes(record.status)) return record;
  if (record.supervisorPid !== undefined) {
    try {
      process.kill(record.supervisorPid, 'SIGTERM');
    } catch {
      // Already gone: readCheckedJob below marks it.
    }
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const current = await readCheckedJob(directory);
    if (!ACTIVE_STATUSES.includes(current.status)) return current;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The supervisor did not finish in time: end its whole process group.
  if (record.supervisorPid !== undefined && isProcessAlive(record.supervisorPid))
    process.kill(-record.supervisorPid, 'SIGKILL');
  return updateJobRecord(directory, (current) => ({
    ...current,
    status: 'stopped',
    reason: 'stopped by request (killed)',
  }));
}

export async function getTrainingJob(name: string, context: JobContext = {}): Promise<JobRecord> {
  return readCheckedJob(jobDirectory(context.stateDirectory ?? resolveStateDirectory(), checkedName(name)));
}

export async function listTrainingJobs(context: JobContext = {}): Promise<JobRecord[]> {
  const stateDirectory = context.stateDirectory ?? resolveStateDirectory();
  const records: JobRecord[] = [];
  for (const name of await listJobNames(stateDirectory)) {
    const record = await readCheckedJob(jobDirectory(stateDirectory, name)).catch(() => undefined);
    if (record) records.push(record);
  }
  return records;
}

export async function readTrainingProgress(name: string, context: JobContext = {}): Promise<ProgressEvent[]> {
  const directory = jobDirectory(context.stateDirectory ?? resolveStateDirectory(), checkedName(name));
  await readCheckedJob(directory);
  return readProgress(directory);
}

/** Deletes a job's folder (not the model it registered). Active jobs need `force`, which stops them. */
export async function removeTrainingJob(
  name: string,
  options: JobContext & { force?: boolean } = {},
): Promise<void> {
  const directory = jobDirectory(options.stateDirectory ?? resolveStateDirectory(), checkedName(name));
  const record = await readCheckedJob(directory);
  if (ACTIVE_STATUSES.includes(record.status)) {
    if (!options.force)
      throw new InvalidArgumentError(
        `training job ${name} is ${record.status}; stop it first or use --force`,
      );
    await stopTrainingJob(name, options);
  }
  await fs.rm(directory, { recursive: true, force: true });
}

function checkedName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name))
    throw new NotFoundError(`training job ${JSON.stringify(name)} does not exist`);
  return name;
}

function parseOptions(input: TrainingOptionsInput): TrainingOptions {
  const parsed = trainingOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InvalidArgumentError(`training option ${issue.path.join('.') || '(options)'}: ${issue.message}`);
}

async function readExamples(options: TrainingOptions): Promise<TrainingExample[]> {
  const examples = options.rows
    ? readRowExamples(options.rows, options.dataFormat)
    : await readDataPath(options);
  const wanted = options.kind === 'finetune' ? 'chat' : 'text';
  const wrong = examples.findIndex((example) => example.kind !== wanted);
  if (wrong >= 0) {
    throw new InvalidArgumentError(
      `data row ${wrong + 1}: ${options.kind} needs ${wanted === 'chat' ? 'conversations (alpaca, sharegpt or messages rows)' : 'text rows ({"text": …} or plain-text files)'}`,
    );
  }
  return examples;
}

async function readDataPath(options: TrainingOptions): Promise<TrainingExample[]> {
  const dataPath = options.data!;
  const stat = await fs.stat(dataPath).catch(() => undefined);
  if (!stat) throw new InvalidArgumentError(`--data ${dataPath} does not exist`);
  const files = stat.isDirectory()
    ? (await fs.readdir(dataPath))
        .filter((file) => !file.startsWith('.'))
        .sort()
        .map((file) => path.join(dataPath, file))
    : [dataPath];
  const examples: TrainingExample[] = [];
  for (const file of files) {
    const content = await fs.readFile(file, 'utf8');
    if (/\.jsonl?$/i.test(file)) examples.push(...readJsonlExamples(content, options.dataFormat));
    else if (options.kind === 'pretrain' && content.trim()) examples.push({ kind: 'text', text: content });
    else throw new InvalidArgumentError(`--data ${file}: finetuning data must be a .jsonl file`);
  }
  if (examples.length === 0) throw new InvalidArgumentError(`--data ${dataPath} holds no rows`);
  return examples;
}

function defaultName(kind: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${kind}-${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}
