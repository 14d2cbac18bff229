/**
 * Helpers for training jobs on a CLI cluster (cli-cluster.ts): the cluster with one training node
 * and a cluster key, a tiny instruction set and the `finetune --address` flags of a small job.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureTinyHfModel } from '../../src/train/index.js';
import { type CliCluster, startCliCluster } from './cli-cluster.js';

/** Questions and the answers a finetuned model memorises. */
export const ANSWERS: Array<[string, string]> = [
  ['What is the capital of France?', 'Paris is the capital of France.'],
  ['Who wrote Hamlet?', 'William Shakespeare wrote it.'],
  ['What colour is the sky?', 'The sky is blue.'],
  ['Say hello to byzer', 'hello byzer, nice to meet you'],
];

/** Writes `ANSWERS` as alpaca rows to `<directory>/train.jsonl`; returns the path. */
export async function writeAnswersData(directory: string): Promise<string> {
  const data = path.join(directory, 'train.jsonl');
  const rows = ANSWERS.map(([instruction, output]) => JSON.stringify({ instruction, output }));
  await fs.writeFile(data, `${rows.join('\n')}\n`);
  return data;
}

export interface TrainingCluster {
  cluster: CliCluster;
  /** The tiny Hugging Face model, under the head's home. */
  basePath: string;
  /** `ANSWERS` as a JSONL file. */
  data: string;
  close(): Promise<void>;
}

/**
 * nats-server, a `--head_only` head and the node agents `nodeIds` (started with `nodeFlags`),
 * sharing a cluster key so that job starts, stops and progress reports travel signed.
 */
export async function startTrainingCluster(
  nodeIds: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<TrainingCluster> {
  const keyDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-key-'));
  const cluster = await startCliCluster({
    nodeIds,
    nodeFlags,
    env: { BYZERLLM_CLUSTER_KEY_FILE: path.join(keyDirectory, 'cluster.key') },
  });
  return {
    cluster,
    basePath: (await ensureTinyHfModel(path.join(cluster.head.home, 'models'))).path,
    data: await writeAnswersData(cluster.head.home),
    async close() {
      await cluster.close();
      await fs.rm(keyDirectory, { recursive: true, force: true });
    },
  };
}

export interface SmallJob {
  /** The cluster's NATS address; without one the job runs on this machine. */
  address?: string;
  basePath: string;
  data: string;
  name: string;
  maxSteps: number;
  numWorkers?: number;
  saveSteps?: number;
}

/** `finetune [--address …]` of a LoRA job that memorises `ANSWERS` within ~60 steps (lr 0.01). */
export function finetuneFlags(job: SmallJob): string[] {
  return [
    'finetune',
    ...(job.address ? ['--address', job.address] : []),
    '--model_path',
    job.basePath,
    '--data',
    job.data,
    '--name',
    job.name,
    '--num_workers',
    String(job.numWorkers ?? 2),
    '--batch_size',
    '2',
    '--lr',
    '0.01',
    '--max_steps',
    String(job.maxSteps),
    '--warmup_steps',
    '0',
    '--lora_dropout',
    '0',
    '--save_steps',
    String(job.saveSteps ?? 1000),
  ];
}

type JobEvent = Record<string, unknown>;

/** The step of the newest `checkpoint` event among a job's events. */
export function newestCheckpoint(events: readonly JobEvent[]): number {
  return Math.max(
    ...events.filter((event) => event.event === 'checkpoint').map((event) => Number(event.step)),
  );
}

/**
 * Asserts that a job resumed from `checkpoint` after `before` (its events until it stopped), given
 * `all` its events once it finished at `lastStep`: the trainer's `resumed` event (after the stop)
 * names that step, every later step ran once and in order, and the first loss after it is nearer
 * the checkpoint's loss than the first step's (the weights went on, not from the start).
 */
export function assertResumedFrom(
  checkpoint: number,
  events: { before: readonly JobEvent[]; all: readonly JobEvent[] },
  lastStep: number,
): void {
  const { before, all } = events;
  const steps = (list: readonly JobEvent[]) => list.filter((event) => event.event === 'step');
  const resumeIndex = all.findIndex((event) => event.event === 'resumed');
  assert.ok(resumeIndex >= before.length, 'the trainer reported resuming after the stop');
  assert.equal(all[resumeIndex]!.step, checkpoint);
  const after = steps(all.slice(resumeIndex));
  assert.deepEqual(
    after.map((event) => event.step),
    Array.from({ length: lastStep - checkpoint }, (_, index) => checkpoint + 1 + index),
    'every step after the checkpoint once, in order',
  );
  const loss = (event: JobEvent | undefined) => Number(event?.loss);
  const startLoss = loss(steps(before)[0]);
  const atCheckpoint = loss(steps(before).find((event) => event.step === checkpoint));
  assert.ok(
    Math.abs(loss(after[0]) - atCheckpoint) < Math.abs(loss(after[0]) - startLoss),
    `the loss went on from ${atCheckpoint} (now ${loss(after[0])}), not from the start (${startLoss})`,
  );
}
