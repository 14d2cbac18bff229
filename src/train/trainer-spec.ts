/**
 * The JSON the Python trainer reads (python/byzerllm_train/trainer.py): job options after defaults,
 * in the trainer's words, with the job's file paths.
 */
import type { JobRecord, jobPaths } from './job-store.js';
import { methodOf } from './training-options.js';

export function buildTrainerSpec(record: JobRecord, paths: ReturnType<typeof jobPaths>, resume: boolean) {
  const { options } = record;
  const method = methodOf(options);
  return {
    model_path: options.modelPath,
    initialise: options.fromConfig,
    method,
    quantization: options.quantization === '4bit' ? 'nf4' : 'none',
    lora: {
      rank: options.loraRank,
      alpha: options.loraAlpha ?? options.loraRank * 2,
      dropout: options.loraDropout,
      targets: options.loraTargets,
    },
    train_file: paths.trainTokens,
    eval_file: paths.evalTokens,
    output_dir: paths.output,
    checkpoint_dir: paths.checkpoints,
    resume,
    epochs: options.epochs,
    ...(options.maxSteps ? { max_steps: options.maxSteps } : {}),
    max_seq_length: options.maxSeqLength,
    lr: options.learningRate ?? (method === 'lora' ? 2e-4 : 5e-5),
    batch_size: options.batchSize,
    accumulation: options.gradientAccumulation,
    ...(options.warmupSteps === undefined ? {} : { warmup_steps: options.warmupSteps }),
    warmup_ratio: options.warmupRatio,
    min_lr_ratio: options.minLearningRateRatio,
    weight_decay: options.weightDecay,
    betas: options.betas,
    eps: options.eps,
    max_grad_norm: options.maxGradNorm,
    precision: options.precision,
    threads: options.cpusPerWorker,
    save_steps: options.saveSteps,
    save_total_limit: options.saveTotalLimit,
    ...(options.evalSteps ? { eval_steps: options.evalSteps } : {}),
    logging_steps: options.loggingSteps,
    seed: options.seed,
    pad_id: 0,
  };
}
