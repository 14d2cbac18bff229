/**
 * `byzerllm finetune` and `byzerllm pretrain`: start a training job (detached; it outlives this
 * command) and, with `--follow`, show its progress until it ends.
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { ByzerLLMError, InvalidArgumentError } from '../../core/index.js';
import {
  DATA_FORMATS,
  followTrainingJob,
  type JobRecord,
  readDeepspeedConfig,
  startTrainingJob,
  type TrainingOptionsInput,
} from '../../train/index.js';
import {
  addNatsSecurityOptions,
  type NatsSecurityFlags,
  parseNonNegativeInteger,
  parseNonNegativeNumber,
  parsePositiveInteger,
} from '../options.js';
import { followRemoteJob, withAbsolutePaths, withJobsClient } from '../remote-jobs.js';

interface TrainFlags {
  model_path?: string;
  data?: string;
  data_format?: string;
  name?: string;
  deploy?: string;
  method?: string;
  quantization?: string;
  qlora?: boolean;
  outtype?: string;
  lora_rank?: number;
  lora_alpha?: number;
  lora_dropout?: number;
  epochs?: number;
  max_steps?: number;
  max_seq_length?: number;
  lr?: number;
  batch_size?: number;
  gradient_accumulation?: number;
  warmup_steps?: number;
  weight_decay?: number;
  max_grad_norm?: number;
  precision?: string;
  num_workers?: number;
  gpus_per_worker?: number;
  cpus_per_worker?: number;
  save_steps?: number;
  eval_steps?: number;
  eval_ratio?: number;
  seed?: number;
  from_config?: boolean;
  deepspeed_config?: string;
  follow?: boolean;
  address?: string;
}

export function registerTrain(program: Command): void {
  for (const kind of ['finetune', 'pretrain'] as const) {
    const command = program
      .command(kind)
      .description(
        kind === 'finetune'
          ? 'finetune a Hugging Face model (LoRA by default) on conversations; the job runs detached'
          : 'continue pretraining a Hugging Face model on text (or from its config with --from_config); detached',
      )
      .option(
        '--model_path <dir>',
        'the base model: a Hugging Face folder (llama, mistral, qwen2) (required)',
      )
      .option(
        '--data <path>',
        `training data: .jsonl rows${kind === 'pretrain' ? ', text files' : ''} or a folder (required)`,
      )
      .option('--data_format <format>', `row format: ${DATA_FORMATS.join(', ')}`, 'auto')
      .option('--name <name>', "job name, also the trained model's name (default: generated)")
      .option('--deploy <deployment>', 'when the job succeeds, deploy the model on llama_cpp under this name')
      .option('--outtype <type>', 'tensor type of the registered model.gguf: f32 (default, exact), f16, q8_0')
      .option('--method <method>', `lora or full (default ${kind === 'finetune' ? 'lora' : 'full'})`)
      .option(
        '--quantization <bits>',
        'none or 4bit: keep the frozen base in 4-bit NF4 blocks under the LoRA adapters (QLoRA)',
      )
      .option('--qlora', 'QLoRA: --method lora --quantization 4bit', false)
      .option('--lora_rank <n>', 'LoRA rank (default 8)', parsePositiveInteger)
      .option('--lora_alpha <n>', 'LoRA alpha (default 2 × rank)', parseNonNegativeNumber)
      .option('--lora_dropout <p>', 'LoRA dropout (default 0.05)', parseNonNegativeNumber)
      .option('--epochs <n>', 'passes over the data (default 1)', parsePositiveInteger)
      .option(
        '--max_steps <n>',
        'stop after this many optimizer steps (overrides --epochs)',
        parsePositiveInteger,
      )
      .option('--max_seq_length <n>', 'tokens per example or block (default 1024)', parsePositiveInteger)
      .option('--lr <rate>', 'peak learning rate (default 2e-4 LoRA, 5e-5 full)', parseNonNegativeNumber)
      .option('--batch_size <n>', 'examples per worker per micro-batch (default 4)', parsePositiveInteger)
      .option(
        '--gradient_accumulation <n>',
        'micro-batches per optimizer step (default 1)',
        parsePositiveInteger,
      )
      .option(
        '--warmup_steps <n>',
        'linear warmup steps before cosine decay (default 3% of the steps)',
        parseNonNegativeInteger,
      )
      .option('--weight_decay <w>', 'AdamW weight decay (default 0)', parseNonNegativeNumber)
      .option('--max_grad_norm <n>', 'gradient clipping, 0 = off (default 1)', parseNonNegativeNumber)
      .option('--precision <p>', 'auto, fp32, bf16, fp16 (auto: bf16/fp16 on GPUs, fp32 on CPU)')
      .option('--num_workers <n>', 'data-parallel workers (default 1)', parsePositiveInteger)
      .option('--gpus_per_worker <n>', 'GPUs per worker (default 0: CPU)', parseNonNegativeInteger)
      .option('--cpus_per_worker <n>', 'torch threads per worker (default 1)', parsePositiveInteger)
      .option('--save_steps <n>', 'checkpoint every N steps (default 100)', parsePositiveInteger)
      .option('--eval_steps <n>', 'eval loss every N steps (default: at start and end)', parsePositiveInteger)
      .option(
        '--eval_ratio <r>',
        'share of the data held out for eval loss (default 0.1; 0 below 10 rows)',
        parseNonNegativeNumber,
      )
      .option('--seed <n>', 'seed of weights init, shuffling and split (default 42)', parseNonNegativeInteger)
      .option('--follow', 'show progress until the job ends (Ctrl+C stops following, not the job)', false)
      .option(
        '--address <nats://host:port>',
        'run the job on a node of this NATS cluster, placed by the head (default: on this machine)',
      );
    addNatsSecurityOptions(command);
    if (kind === 'pretrain') {
      command
        .option('--from_config', "start from random weights shaped by the folder's config.json", false)
        .option(
          '--deepspeed_config <file>',
          'a DeepSpeed JSON config: optimizer, batch, accumulation, clipping, precision are honoured',
        );
    }
    command.action(async (flags: TrainFlags) => {
      const input = await optionsFromFlags(kind, flags);
      if (flags.address) {
        await startRemoteJob({ ...flags, address: flags.address }, input);
        return;
      }
      const record = await startTrainingJob(input);
      process.stdout.write(`started training job ${record.name} (supervisor pid ${record.supervisorPid})\n`);
      for (const warning of input.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
      if (!flags.follow) {
        process.stdout.write(
          `  byzerllm jobs show ${record.name}     status\n  byzerllm jobs logs ${record.name} --follow\n`,
        );
        return;
      }
      await followWithProgressBar(record.name);
    });
  }
}

async function startRemoteJob(
  flags: TrainFlags & NatsSecurityFlags & { address: string },
  input: TrainingOptionsInput,
): Promise<void> {
  if (input.deploy)
    throw new InvalidArgumentError(
      '--deploy with --address is not supported yet: when the job succeeds, deploy its model.gguf (jobs show --address names it) with byzerllm deploy --address',
    );
  await withJobsClient(flags, async (client) => {
    const record = await client.startTrainingJob(withAbsolutePaths(input));
    process.stdout.write(`started training job ${record.name} on node ${record.node}\n`);
    for (const warning of input.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
    if (flags.follow) await followRemoteJob(client, record.name);
    else
      process.stdout.write(
        `  byzerllm jobs show ${record.name} --address ${flags.address}\n  byzerllm jobs logs ${record.name} --address ${flags.address}\n`,
      );
  });
}

async function optionsFromFlags(
  kind: 'finetune' | 'pretrain',
  flags: TrainFlags,
): Promise<TrainingOptionsInput> {
  if (!flags.model_path)
    throw new InvalidArgumentError("missing --model_path: the base model's Hugging Face folder");
  if (!flags.data) throw new InvalidArgumentError('missing --data: a .jsonl file, a text file or a folder');
  const input: TrainingOptionsInput = { kind, modelPath: flags.model_path, data: flags.data, warnings: [] };
  if (flags.deepspeed_config) {
    const text = await fs.readFile(flags.deepspeed_config, 'utf8').catch(() => {
      throw new InvalidArgumentError(`cannot read --deepspeed_config ${flags.deepspeed_config}`);
    });
    const { options, warnings } = readDeepspeedConfig(text);
    Object.assign(input, options);
    input.warnings = warnings;
  }
  const set = <K extends keyof TrainingOptionsInput>(key: K, value: TrainingOptionsInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('dataFormat', flags.data_format as TrainingOptionsInput['dataFormat']);
  set('name', flags.name);
  set('deploy', flags.deploy);
  set('method', flags.method as TrainingOptionsInput['method']);
  set('quantization', flags.quantization as TrainingOptionsInput['quantization']);
  set('outtype', flags.outtype?.toLowerCase() as TrainingOptionsInput['outtype']);
  if (flags.qlora) {
    if (flags.method === 'full' || (flags.quantization ?? '4bit') !== '4bit')
      throw new InvalidArgumentError('--qlora means --method lora --quantization 4bit; drop the other flag');
    input.method = 'lora';
    input.quantization = '4bit';
  }
  set('loraRank', flags.lora_rank);
  set('loraAlpha', flags.lora_alpha);
  set('loraDropout', flags.lora_dropout);
  set('epochs', flags.epochs);
  set('maxSteps', flags.max_steps);
  set('maxSeqLength', flags.max_seq_length);
  set('learningRate', flags.lr);
  set('batchSize', flags.batch_size);
  set('gradientAccumulation', flags.gradient_accumulation);
  set('warmupSteps', flags.warmup_steps);
  set('weightDecay', flags.weight_decay);
  set('maxGradNorm', flags.max_grad_norm);
  set('precision', flags.precision as TrainingOptionsInput['precision']);
  set('numWorkers', flags.num_workers);
  set('gpusPerWorker', flags.gpus_per_worker);
  set('cpusPerWorker', flags.cpus_per_worker);
  set('saveSteps', flags.save_steps);
  set('evalSteps', flags.eval_steps);
  set('evalRatio', flags.eval_ratio);
  set('seed', flags.seed);
  if (flags.from_config) input.fromConfig = true;
  return input;
}

/** Follows a job: a progress line on stderr (a TTY redraws it), one line per status change. */
export async function followWithProgressBar(
  name: string,
  options: { from?: number } = {},
): Promise<JobRecord> {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  const interactive = process.stderr.isTTY;
  try {
    const events = followTrainingJob(name, {
      signal: abort.signal,
      ...(options.from === undefined ? {} : { from: options.from }),
    });
    for (;;) {
      const next = await events.next().catch((error: unknown) => {
        if (abort.signal.aborted) {
          process.stderr.write(`\nstopped following; the job goes on: byzerllm jobs logs ${name} --follow\n`);
          process.exit(130);
        }
        throw error;
      });
      if (next.done) {
        const record = next.value;
        if (interactive) process.stderr.write('\n');
        if (record.status !== 'succeeded') {
          throw new ByzerLLMError(
            'worker_failed',
            `training job ${name} ${record.status}: ${record.reason ?? 'no reason recorded'}`,
          );
        }
        process.stdout.write(`job ${name} succeeded: ${record.outputs?.gguf ?? ''}\n`);
        if (record.deployment) {
          process.stdout.write(
            record.deployment.status === 'deployed'
              ? `deployed as ${record.deployment.name}: byzerllm query --model ${record.deployment.name} --query "…"\n`
              : `deploying ${record.deployment.name} failed: ${record.deployment.error}\n`,
          );
        }
        return record;
      }
      const event = next.value;
      if (event.event === 'step') {
        const line = progressLine(event);
        process.stderr.write(interactive ? `\r${line}` : `${line}\n`);
      } else if (
        event.event === 'status' ||
        event.event === 'eval' ||
        event.event === 'checkpoint' ||
        event.event === 'resumed'
      ) {
        if (interactive) process.stderr.write('\n');
        process.stderr.write(`${JSON.stringify(event)}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

function progressLine(event: Record<string, unknown>): string {
  const step = Number(event.step);
  const total = Number(event.total_steps) || step;
  const width = 24;
  const filled = Math.round((step / total) * width);
  const number = (key: string, digits: number) =>
    typeof event[key] === 'number' ? (event[key] as number).toFixed(digits) : '-';
  const eta = typeof event.eta_seconds === 'number' ? `${Math.round(event.eta_seconds as number)}s` : '-';
  return `step ${step}/${total} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] loss ${number('loss', 4)} lr ${
    typeof event.lr === 'number' ? (event.lr as number).toExponential(2) : '-'
  } ${number('tokens_per_second', 0)} tok/s ETA ${eta}`;
}
