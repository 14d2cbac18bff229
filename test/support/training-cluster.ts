/**
 * Helpers for training jobs on a CLI cluster (cli-cluster.ts): the cluster with one training node
 * and a cluster key, a tiny instruction set and the `finetune --address` flags of a small job.
 */
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
