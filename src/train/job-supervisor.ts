/**
 * The supervisor of one training job: a detached process (job-main.ts) that outlives the CLI.
 *
 * It prepares the data (base model → GGUF for its tokenizer and template, examples → token files),
 * starts `numWorkers` trainer processes that train data-parallel over torch.distributed, streams
 * worker 0's JSON progress into `progress.jsonl`, and when they finish converts the result to GGUF,
 * registers it under `$BYZERLLM_HOME/models/<job>/` and deploys it if asked. A worker that dies
 * (killed, crashed) stops the others and fails the job with that worker's reason; SIGTERM to the
 * supervisor stops the job.
 *
 * A job spread over several nodes (`options.distributed`, set by the cluster's head) runs one
 * supervisor per node: each prepares the same token files, starts its share of the ranks against
 * rank 0's rendezvous, and only node 0 (which holds rank 0: its progress, checkpoints and output)
 * exports; the others end `succeeded` when their workers do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { connectLocalHead, trainedModelOutcome } from '../cluster/index.js';
import { importOptional, toByzerLLMError } from '../core/index.js';
import { convertHfToGguf, convertLoraToGguf } from './convert-to-gguf.js';
import type { TrainingExample } from './data-formats.js';
import { freePort } from './free-port.js';
import { appendProgress, type JobRecord, type JobStatus, jobPaths, updateJobRecord } from './job-store.js';
import { pythonEnvironment, pythonExecutable } from './python-runtime.js';
import { writeTokenFile } from './token-file.js';
import { buildTrainerSpec } from './trainer-spec.js';

/** Where this node's workers meet the job's others (torch.distributed's env:// variables). */
interface Rendezvous {
  address: string;
  port: number;
  worldSize: number;
  firstRank: number;
}

export interface SupervisorOptions {
  directory: string;
  stateDirectory: string;
  /** Continue from the newest checkpoint. */
  resume: boolean;
}

interface WorkerFailure {
  reason: string;
  worker: number;
  pid: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  bySignal: boolean;
  /** The supervisor ended this worker after another failed. */
  terminated: boolean;
}

export class JobSupervisor {
  private readonly paths: ReturnType<typeof jobPaths>;
  private workers: ChildProcess[] = [];
  /** Workers the supervisor itself ended because another one failed: never the cause. */
  private readonly terminated = new Set<ChildProcess>();
  private stopping = false;
  /** Why the job is being stopped when that is a failure (its node agent exited), not a request. */
  private abortReason: string | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.paths = jobPaths(options.directory);
  }

  /** Runs the job to its end; never throws (failures become the job's status). */
  async run(): Promise<JobStatus> {
    // `on`, not `once`: signal-exit (loaded with node-llama-cpp during prepare) re-raises a signal
    // when it finds no other listener left, and a `once` listener is gone by the time it looks, so
    // the supervisor died before recording "stopped". stop() may run twice; it is idempotent.
    process.on('SIGTERM', () => this.stop());
    process.on('SIGINT', () => this.stop());
    try {
      let record = await this.setStatus('preparing');
      await this.prepare(record);
      if (this.stopping) return this.finishStopped();
      record = await this.setStatus('running');
      const failure = await this.train(record);
      if (this.stopping) return this.finishStopped();
      if (failure) {
        const { reason, bySignal: _bySignal, terminated: _terminated, ...cause } = failure;
        await updateJobRecord(this.options.directory, (current) => ({ ...current, failure: cause }));
        return this.finish('failed', reason);
      }
      // Rank 0's node writes the output; a helper node's share is done when its workers are.
      if ((record.options.distributed?.nodeRank ?? 0) > 0) return this.finish('succeeded');
      await this.setStatus('exporting');
      record = await this.export(record);
      if (record.options.deploy) {
        await this.setStatus('deploying');
        await this.deploy(record);
      }
      return this.finish('succeeded');
    } catch (error) {
      return this.finish('failed', toByzerLLMError(error).message.replace(/\s*\n\s*/g, ' '));
    }
  }

  /** Stops the job: `stopped`, or `failed` with `failureReason` when one is given. */
  stop(failureReason?: string): void {
    this.stopping = true;
    this.abortReason ??= failureReason;
    for (const worker of this.workers) worker.kill('SIGTERM');
  }

  private finishStopped(): Promise<JobStatus> {
    return this.abortReason
      ? this.finish('failed', this.abortReason)
      : this.finish('stopped', 'stopped by request');
  }

  private async setStatus(status: JobStatus, reason?: string): Promise<JobRecord> {
    await appendProgress(this.options.directory, { event: 'status', status, ...(reason ? { reason } : {}) });
    return updateJobRecord(this.options.directory, (record) => {
      const { reason: _previous, ...rest } = record;
      return { ...rest, status, ...(reason ? { reason } : {}) };
    });
  }

  private async finish(status: JobStatus, reason?: string): Promise<JobStatus> {
    await this.setStatus(status, reason);
    return status;
  }

  private async prepare(record: JobRecord): Promise<void> {
    const { options } = record;
    if (await exists(this.paths.trainTokens)) return;
    await fs.mkdir(this.paths.data, { recursive: true });
    await convertHfToGguf({
      directory: options.modelPath,
      output: this.paths.baseGguf,
      vocabularyOnly: options.fromConfig,
    });
    const lines = (await fs.readFile(this.paths.examples, 'utf8')).split('\n').filter(Boolean);
    const examples = lines.map((line) => JSON.parse(line) as TrainingExample);
    const evalRatio = options.evalRatio ?? (examples.length >= 10 || options.kind === 'pretrain' ? 0.1 : 0);
    // prepare-data tokenises with node-llama-cpp, an optional package: loaded when a job runs.
    const { prepareTokenData } = await importOptional(() => import('./prepare-data.js'), {
      feature: 'training',
      packages: ['node-llama-cpp'],
    });
    const prepared = await prepareTokenData({
      ggufPath: this.paths.baseGguf,
      examples,
      maxSequenceLength: options.maxSeqLength,
      evalRatio,
      seed: options.seed,
    });
    if (prepared.train.length === 0) throw new Error('no training example is left after tokenising the data');
    await writeTokenFile(this.paths.evalTokens, prepared.evaluation);
    await writeTokenFile(this.paths.trainTokens, prepared.train);
    await appendProgress(this.options.directory, {
      event: 'prepared',
      train_examples: prepared.train.length,
      eval_examples: prepared.evaluation.length,
      train_tokens: prepared.trainTokens,
    });
  }

  /** Runs the workers; resolves to the failure that caused the job's end, or undefined. */
  private async train(record: JobRecord): Promise<WorkerFailure | undefined> {
    const spec = buildTrainerSpec(record, this.paths, this.options.resume);
    await fs.writeFile(this.paths.trainerSpec, `${JSON.stringify(spec, null, 2)}\n`);
    await fs.mkdir(this.paths.logs, { recursive: true });
    await fs.mkdir(this.paths.checkpoints, { recursive: true });
    const { distributed } = record.options;
    const rendezvous: Rendezvous = {
      address: distributed?.masterAddress ?? '127.0.0.1',
      port: distributed?.masterPort ?? (await freePort()),
      worldSize: distributed?.worldSize ?? record.options.numWorkers,
      firstRank: distributed?.firstRank ?? 0,
    };
    const failures: WorkerFailure[] = [];
    const exits: Array<Promise<void>> = [];
    for (let local = 0; local < record.options.numWorkers; local++) {
      exits.push(this.startWorker(record, local, rendezvous, failures));
    }
    await updateJobRecord(this.options.directory, (current) => ({
      ...current,
      workerPids: this.workers.map((worker) => worker.pid ?? -1),
    }));
    await Promise.all(exits);
    this.workers = [];
    // The cause, not the workers the supervisor ended because it was gone: a worker killed from
    // outside first, else the first failure the supervisor did not cause.
    const cause =
      failures.find((failure) => failure.bySignal && !failure.terminated) ??
      failures.find((failure) => !failure.terminated) ??
      failures[0];
    return cause;
  }

  /**
   * Starts this node's worker `local` (global rank `firstRank + local`); resolves when it has
   * exited (its failure, if any, is in `failures`).
   */
  private startWorker(
    record: JobRecord,
    local: number,
    rendezvous: Rendezvous,
    failures: WorkerFailure[],
  ): Promise<void> {
    const rank = rendezvous.firstRank + local;
    const gpus = record.options.gpusPerWorker;
    const gpuList = Array.from({ length: gpus }, (_, index) => local * gpus + index).join(',');
    const worker = spawn(pythonExecutable(), ['-m', 'byzerllm_train', 'train', this.paths.trainerSpec], {
      env: pythonEnvironment({
        RANK: String(rank),
        WORLD_SIZE: String(rendezvous.worldSize),
        LOCAL_RANK: '0',
        MASTER_ADDR: rendezvous.address,
        MASTER_PORT: String(rendezvous.port),
        BYZERLLM_DEVICE: gpus > 0 ? 'auto' : 'cpu',
        CUDA_VISIBLE_DEVICES: gpuList,
        // The worker asks Linux to kill it when this supervisor dies (python/byzerllm_train).
        BYZERLLM_PARENT_PID: String(process.pid),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.workers.push(worker);
    const log = createWriteStream(path.join(this.paths.logs, `worker-${rank}.log`), { flags: 'a' });
    // Only rank 0 reports progress; the others' stdout is drained so they never block on it.
    if (rank !== 0) worker.stdout!.resume();
    worker.stderr!.pipe(log);
    let lastError = '';
    worker.stderr!.on('data', (chunk: Buffer) => {
      lastError = chunk.toString('utf8').trim().split('\n').pop() || lastError;
    });
    const progress = rank === 0 ? this.followProgress(worker) : Promise.resolve();
    return new Promise<void>((resolve) => {
      worker.once('exit', (code, signal) => {
        if (code !== 0 && !this.stopping) {
          failures.push({
            reason: signal
              ? `worker ${rank} (pid ${worker.pid}) was killed by ${signal}`
              : `worker ${rank} (pid ${worker.pid}) exited with code ${code}${lastError ? `: ${lastError}` : ''}`,
            worker: rank,
            pid: worker.pid ?? -1,
            signal,
            code,
            bySignal: signal !== null,
            terminated: this.terminated.has(worker),
          });
          // One worker gone: the others would wait for it forever in their collectives.
          for (const other of this.workers) {
            if (other !== worker && other.exitCode === null && other.signalCode === null) {
              this.terminated.add(other);
              other.kill('SIGTERM');
            }
          }
        }
        progress.finally(() => log.end(() => resolve()));
      });
    });
  }

  private async followProgress(worker: ChildProcess): Promise<void> {
    let lastRecordWrite = 0;
    let lastStep: JobRecord['lastStep'];
    const saveLastStep = async () => {
      const step = lastStep;
      if (step) await updateJobRecord(this.options.directory, (record) => ({ ...record, lastStep: step }));
    };
    for await (const line of readline.createInterface({ input: worker.stdout! })) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof event.event !== 'string') continue;
      await appendProgress(this.options.directory, event);
      if (event.event !== 'step') continue;
      lastStep = {
        step: Number(event.step),
        totalSteps: Number(event.total_steps),
        loss: typeof event.loss === 'number' ? event.loss : null,
      };
      // The record is for `jobs list`: once a second is enough while running.
      if (Date.now() - lastRecordWrite > 1000) {
        lastRecordWrite = Date.now();
        await saveLastStep();
      }
    }
    await saveLastStep();
  }

  /** Converts and registers the result under `$BYZERLLM_HOME/models/<job>/`. */
  private async export(record: JobRecord): Promise<JobRecord> {
    const modelDirectory = path.join(this.options.stateDirectory, 'models', record.name);
    await fs.rm(modelDirectory, { recursive: true, force: true });
    await fs.mkdir(modelDirectory, { recursive: true });
    const huggingFace = path.join(modelDirectory, 'hf');
    await fs.rename(path.join(this.paths.output, 'merged'), huggingFace);
    const gguf = await convertHfToGguf({
      directory: huggingFace,
      output: path.join(modelDirectory, 'model.gguf'),
      name: record.name,
      outtype: record.options.outtype,
    });
    const outputs: NonNullable<JobRecord['outputs']> = { modelDirectory, huggingFace, gguf };
    const trainedAdapter = path.join(this.paths.output, 'adapter');
    if (await exists(path.join(trainedAdapter, 'adapter_config.json'))) {
      outputs.adapter = path.join(modelDirectory, 'adapter');
      await fs.rename(trainedAdapter, outputs.adapter);
      outputs.adapterGguf = await convertLoraToGguf({
        adapterDirectory: outputs.adapter,
        baseDirectory: record.options.modelPath,
        output: path.join(modelDirectory, 'adapter.gguf'),
      });
    }
    await appendProgress(this.options.directory, { event: 'registered', ...outputs });
    return updateJobRecord(this.options.directory, (current) => ({ ...current, outputs }));
  }

  private async deploy(record: JobRecord): Promise<void> {
    const name = record.options.deploy!;
    let deployment: NonNullable<JobRecord['deployment']>;
    try {
      const head = await connectLocalHead({ stateDirectory: this.options.stateDirectory });
      const gguf = record.outputs!.gguf;
      try {
        const outcome = await head.deploy({
          name,
          pretrainedModelType: 'custom/auto',
          inferBackend: 'llama_cpp',
          modelPath: gguf,
          numWorkers: 1,
        });
        // A deployment of that name serving another model is not this job's: failed, naming it.
        deployment =
          outcome.status === 'already_deployed'
            ? trainedModelOutcome(outcome.deployment, gguf)
            : { name, status: 'deployed' };
      } finally {
        await head.close();
      }
    } catch (error) {
      deployment = { name, status: 'failed', error: toByzerLLMError(error).message };
    }
    await appendProgress(this.options.directory, { event: 'deployment', ...deployment });
    await updateJobRecord(this.options.directory, (current) => ({ ...current, deployment }));
  }
}

async function exists(filePath: string): Promise<boolean> {
  return (await fs.stat(filePath).catch(() => undefined)) !== undefined;
}
