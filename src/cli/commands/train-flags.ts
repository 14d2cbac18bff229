/**
 * The flags of `byzerllm finetune` and `byzerllm pretrain`, and the table of tuning flags that both
 * commands add and copy into the training options the same way.
 */
import type { TrainingOptionsInput } from '../../train/index.js';
import { parseNonNegativeInteger, parseNonNegativeNumber, parsePositiveInteger } from '../options.js';

export interface TrainFlags {
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
  nodes?: number;
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

/**
 * The tuning flags: each is added to both commands in this order and copied, when given, to the
 * training option `key` unchanged (commander has already parsed numbers with `parse`).
 */
export const TUNING_FLAGS: readonly {
  flag: keyof TrainFlags;
  placeholder: string;
  key: keyof TrainingOptionsInput;
  help: string;
  parse?: (value: string) => number;
}[] = [
  {
    flag: 'lora_rank',
    placeholder: 'n',
    key: 'loraRank',
    help: 'LoRA rank (default 8)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'lora_alpha',
    placeholder: 'n',
    key: 'loraAlpha',
    help: 'LoRA alpha (default 2 × rank)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'lora_dropout',
    placeholder: 'p',
    key: 'loraDropout',
    help: 'LoRA dropout (default 0.05)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'epochs',
    placeholder: 'n',
    key: 'epochs',
    help: 'passes over the data (default 1)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'max_steps',
    placeholder: 'n',
    key: 'maxSteps',
    help: 'stop after this many optimizer steps (overrides --epochs)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'max_seq_length',
    placeholder: 'n',
    key: 'maxSeqLength',
    help: 'tokens per example or block (default 1024)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'lr',
    placeholder: 'rate',
    key: 'learningRate',
    help: 'peak learning rate (default 2e-4 LoRA, 5e-5 full)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'batch_size',
    placeholder: 'n',
    key: 'batchSize',
    help: 'examples per worker per micro-batch (default 4)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'gradient_accumulation',
    placeholder: 'n',
    key: 'gradientAccumulation',
    help: 'micro-batches per optimizer step (default 1)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'warmup_steps',
    placeholder: 'n',
    key: 'warmupSteps',
    help: 'linear warmup steps before cosine decay (default 3% of the steps)',
    parse: parseNonNegativeInteger,
  },
  {
    flag: 'weight_decay',
    placeholder: 'w',
    key: 'weightDecay',
    help: 'AdamW weight decay (default 0)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'max_grad_norm',
    placeholder: 'n',
    key: 'maxGradNorm',
    help: 'gradient clipping, 0 = off (default 1)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'precision',
    placeholder: 'p',
    key: 'precision',
    help: 'auto, fp32, bf16, fp16 (auto: bf16/fp16 on GPUs, fp32 on CPU)',
  },
  {
    flag: 'num_workers',
    placeholder: 'n',
    key: 'numWorkers',
    help: 'data-parallel workers (default 1)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'nodes',
    placeholder: 'n',
    key: 'nodes',
    help: 'with --address: spread the workers over this many nodes (default: one node if they fit there)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'gpus_per_worker',
    placeholder: 'n',
    key: 'gpusPerWorker',
    help: 'GPUs per worker (default 0: CPU)',
    parse: parseNonNegativeInteger,
  },
  {
    flag: 'cpus_per_worker',
    placeholder: 'n',
    key: 'cpusPerWorker',
    help: 'torch threads per worker (default 1)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'save_steps',
    placeholder: 'n',
    key: 'saveSteps',
    help: 'checkpoint every N steps (default 100)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'eval_steps',
    placeholder: 'n',
    key: 'evalSteps',
    help: 'eval loss every N steps (default: at start and end)',
    parse: parsePositiveInteger,
  },
  {
    flag: 'eval_ratio',
    placeholder: 'r',
    key: 'evalRatio',
    help: 'share of the data held out for eval loss (default 0.1; 0 below 10 rows)',
    parse: parseNonNegativeNumber,
  },
  {
    flag: 'seed',
    placeholder: 'n',
    key: 'seed',
    help: 'seed of weights init, shuffling and split (default 42)',
    parse: parseNonNegativeInteger,
  },
];
