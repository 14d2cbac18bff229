/**
 * Byzer-SQL's training form, for the SQL layer to call:
 *
 *   !byzerllm setup sft;  !byzerllm setup "num_gpus=4";
 *   run command as LLM.`` where pretrainedModelType="sft/llama2" and localModelDir="…"
 *     and inputTable="sft_data" and outputTable="llama2_300" and detached="true"
 *     and `sft.int.max_seq_length`="512";
 *
 * `trainingOptionsFromByzerSql(params, rows)` turns those parameters (strings, as SQL gives them)
 * and the input table's rows into `startTrainingJob` options. `sft/*` is a QLoRA finetune (LoRA on
 * 4-bit NF4 base weights), as Byzer-LLM's `sft` always is; `sft.str.quantization="none"` trains
 * plain LoRA instead. `sfft/*` is continued pretraining (with `deepspeedConfig`). Parameters
 * byzerllm cannot honour come back as warnings naming them; `detached="false"` tells the caller to
 * follow the job to its end.
 */
import { InvalidArgumentError } from '../core/index.js';
import { readDeepspeedConfig } from './deepspeed-config.js';
import { JOB_NAME_PATTERN, type TrainingOptionsInput } from './training-options.js';

type NumericOption =
  | 'maxSeqLength'
  | 'epochs'
  | 'learningRate'
  | 'batchSize'
  | 'gradientAccumulation'
  | 'loraRank'
  | 'loraAlpha'
  | 'loraDropout'
  | 'saveSteps'
  | 'loggingSteps'
  | 'seed'
  | 'weightDecay'
  | 'maxGradNorm'
  | 'warmupSteps'
  | 'maxSteps';

/** `sft.<type>.<name>` / `sfft.<type>.<name>` → option (Byzer-LLM's QLoRA and DeepSpeed names). */
const TYPED_PARAMS: Record<string, NumericOption> = {
  max_seq_length: 'maxSeqLength',
  max_length: 'maxSeqLength',
  num_train_epochs: 'epochs',
  epoches: 'epochs',
  learning_rate: 'learningRate',
  per_device_train_batch_size: 'batchSize',
  gradient_accumulation_steps: 'gradientAccumulation',
  lora_rank: 'loraRank',
  lora_alpha: 'loraAlpha',
  lora_dropout: 'loraDropout',
  save_steps: 'saveSteps',
  logging_steps: 'loggingSteps',
  seed: 'seed',
  weight_decay: 'weightDecay',
  max_grad_norm: 'maxGradNorm',
  warmup_steps: 'warmupSteps',
  max_steps: 'maxSteps',
};
const IGNORED = new Set(['model', 'localPathPrefix', 'keepPartitionNum', 'inputTable', 'modelTable']);

/** Byzer-LLM's `sft` is QLoRA; this parameter (byzerllm's own) chooses plain LoRA with `none`. */
const QUANTIZATION_PARAM = 'sft.str.quantization';

function quantizationOf(params: Readonly<Record<string, string>>): '4bit' | 'none' {
  const value = params[QUANTIZATION_PARAM] ?? '4bit';
  if (value !== '4bit' && value !== 'none')
    throw new InvalidArgumentError(
      `${QUANTIZATION_PARAM} must be "4bit" (QLoRA, the default) or "none" (LoRA), got ${JSON.stringify(value)}`,
    );
  return value;
}

export function trainingOptionsFromByzerSql(
  params: Readonly<Record<string, string>>,
  rows?: readonly unknown[],
): { options: TrainingOptionsInput; detached: boolean } {
  const type = params.pretrainedModelType ?? '';
  const kind = type.startsWith('sft/') ? 'finetune' : type.startsWith('sfft/') ? 'pretrain' : undefined;
  if (!kind) {
    throw new InvalidArgumentError(
      `pretrainedModelType ${JSON.stringify(type)} is not a training type; allowed: sft/<model>, sfft/<model>`,
    );
  }
  const modelPath = params.localModelDir;
  if (!modelPath)
    throw new InvalidArgumentError("localModelDir is required: the base model's Hugging Face folder");
  const warnings: string[] = [];
  const options: TrainingOptionsInput = { kind, modelPath, warnings };
  if (kind === 'finetune') options.quantization = quantizationOf(params);
  if (rows) options.rows = [...rows];
  else if (params.localDataDir) options.data = params.localDataDir;
  else throw new InvalidArgumentError('give the data: inputTable (rows) or localDataDir');
  if (params.outputTable && JOB_NAME_PATTERN.test(params.outputTable)) options.name = params.outputTable;
  if (params.deepspeedConfig) {
    const deepspeed = readDeepspeedConfig(params.deepspeedConfig);
    Object.assign(options, deepspeed.options);
    warnings.push(...deepspeed.warnings);
  }
  const gpus = params.num_gpus === undefined ? 0 : Number(params.num_gpus);
  if (!Number.isInteger(gpus) || gpus < 0)
    throw new InvalidArgumentError(`num_gpus ${JSON.stringify(params.num_gpus)} is not a whole number >= 0`);
  if (gpus > 0) Object.assign(options, { numWorkers: gpus, gpusPerWorker: 1 });
  for (const [key, value] of Object.entries(params)) {
    const typed = /^(sft|sfft)\.(int|float|str|bool)\.(.+)$/.exec(key);
    if (key === QUANTIZATION_PARAM && kind === 'finetune') continue;
    if (typed) {
      const option = TYPED_PARAMS[typed[3]!];
      const number = Number(value);
      if (!option) warnings.push(`${key} is not used by byzerllm's trainer`);
      else if (!Number.isFinite(number))
        throw new InvalidArgumentError(`${key} must be a number, got ${JSON.stringify(value)}`);
      else options[option] = number;
    } else if (
      ![
        'pretrainedModelType',
        'localModelDir',
        'localDataDir',
        'outputTable',
        'deepspeedConfig',
        'num_gpus',
        'detached',
      ].includes(key)
    ) {
      if (!IGNORED.has(key)) warnings.push(`${key} is not used by byzerllm's trainer`);
    }
  }
  return { options, detached: params.detached !== 'false' };
}
