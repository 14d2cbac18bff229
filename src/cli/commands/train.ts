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
import { addNatsSecurityOptions, type NatsSecurityFlags } from '../options.js';
import { describeNodes, followRemoteJob, withAbsolutePaths, withJobsClient } from '../remote-jobs.js';
import { TUNING_FLAGS, type TrainFlags } from './train-flags.js';

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
      .option('--qlora', 'QLoRA: --method lora --quantization 4bit', false);
    for (const tuning of TUNING_FLAGS) {
      const argument = `--${tuning.flag} <${tuning.placeholder}>`;
      if (tuning.parse) command.option(argument, tuning.help, tuning.parse);
      else command.option(argument, tuning.help);
    }
    command
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
  await withJobsClient(flags, async (client) => {
    const record = await client.startTrainingJob(withAbsolutePaths(input));
    process.stdout.write(`started training job ${record.name} on ${describeNodes(record)}\n`);
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
  for (const tuning of TUNING_FLAGS) {
    set(tuning.key, flags[tuning.flag] as TrainingOptionsInput[typeof tuning.key] | undefined);
  }
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
