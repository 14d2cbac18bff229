/**
 * Byzer-LLM's `deepspeedConfig` (pretraining) read into training options.
 *
 * The trainer is plain torch data parallelism, not DeepSpeed, so the fields that describe *what* to
 * train are honoured — optimizer (AdamW lr, betas, eps, weight decay), micro-batch, accumulation,
 * clipping, precision — and the fields about *how DeepSpeed* distributes it (ZeRO stages, offload,
 * buckets, tensorboard…) become warnings naming them.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { TrainingOptionsInput } from './training-options.js';

type Honoured = Pick<
  TrainingOptionsInput,
  | 'learningRate'
  | 'betas'
  | 'eps'
  | 'weightDecay'
  | 'batchSize'
  | 'gradientAccumulation'
  | 'maxGradNorm'
  | 'precision'
>;

export function readDeepspeedConfig(text: string): { options: Honoured; warnings: string[] } {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new InvalidArgumentError('deepspeedConfig is not valid JSON');
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidArgumentError('deepspeedConfig must be a JSON object');
  }
  const options: Honoured = {};
  const warnings: string[] = [];
  const number = (key: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidArgumentError(
        `deepspeedConfig field ${key} must be a number, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  for (const [key, value] of Object.entries(config)) {
    switch (key) {
      case 'train_micro_batch_size_per_gpu':
        options.batchSize = number(key, value);
        break;
      case 'gradient_accumulation_steps':
        options.gradientAccumulation = number(key, value);
        break;
      case 'gradient_clipping':
        options.maxGradNorm = number(key, value);
        break;
      case 'bf16':
      case 'fp16':
        if ((value as { enabled?: unknown } | null)?.enabled === true) options.precision = key;
        break;
      case 'optimizer':
        readOptimizer(value, options, warnings, number);
        break;
      default:
        warnings.push(
          `deepspeedConfig field ${key} is not used: byzerllm trains with torch data parallelism`,
        );
    }
  }
  return { options, warnings };
}

function readOptimizer(
  value: unknown,
  options: Honoured,
  warnings: string[],
  number: (key: string, value: unknown) => number,
): void {
  const optimizer = (value ?? {}) as { type?: unknown; params?: Record<string, unknown> };
  if (typeof optimizer.type === 'string' && !/^adamw?$/i.test(optimizer.type)) {
    warnings.push(`deepspeedConfig optimizer.type ${optimizer.type} is not available; AdamW is used`);
  }
  for (const [key, parameter] of Object.entries(optimizer.params ?? {})) {
    if (key === 'lr') options.learningRate = number('optimizer.params.lr', parameter);
    else if (key === 'eps') options.eps = number('optimizer.params.eps', parameter);
    else if (key === 'weight_decay') options.weightDecay = number('optimizer.params.weight_decay', parameter);
    else if (key === 'betas' && Array.isArray(parameter) && parameter.length === 2) {
      options.betas = [
        number('optimizer.params.betas', parameter[0]),
        number('optimizer.params.betas', parameter[1]),
      ];
    } else warnings.push(`deepspeedConfig optimizer.params.${key} is not used`);
  }
}
