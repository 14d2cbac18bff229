/**
 * What a training job is asked to do: one zod schema for the CLI, the TypeScript API and (later)
 * Byzer-SQL's `run command as LLM` parameters. Defaults are "easy": `modelPath` and `data` alone make
 * a working LoRA finetune on CPU.
 */
import { z } from 'zod';
import { DATA_FORMATS } from './data-formats.js';
import { GGUF_OUTPUT_TYPES } from './gguf-encoding.js';

export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * One node's share of a job spread over several nodes, set by the cluster's head (never by users):
 * the node runs `numWorkers` local workers as global ranks `firstRank…`, and every worker meets at
 * rank 0's node (`masterAddress:masterPort`, what `torch.distributed.run` calls the rendezvous).
 * The head leaves the address and port out for node 0, which picks them and reports them in its
 * record; the other nodes get them.
 */
export const distributedPartSchema = z
  .object({
    worldSize: z.number().int().min(2).max(65_536),
    nodeCount: z.number().int().min(2).max(1024),
    nodeRank: z.number().int().min(0).max(1023),
    firstRank: z.number().int().min(0).max(65_535),
    masterAddress: z.string().min(1).max(255).optional(),
    masterPort: z.number().int().min(1).max(65_535).optional(),
  })
  .refine((part) => part.nodeRank === 0 || (part.masterAddress && part.masterPort), {
    message: 'nodes other than node 0 need the rendezvous: masterAddress and masterPort',
  });
export type DistributedPart = z.infer<typeof distributedPartSchema>;

export const trainingOptionsSchema = z
  .object({
    /** Job name, also the registered model's name. Defaults to `<kind>-<time>`. */
    name: z
      .string()
      .regex(
        JOB_NAME_PATTERN,
        'a job name is 1-128 letters, digits, "_", "." or "-", starting with a letter or digit',
      )
      .optional(),
    kind: z.enum(['finetune', 'pretrain']),
    /** The base model: a Hugging Face folder (llama, mistral, qwen2). */
    modelPath: z.string().min(1),
    /** Pretraining only: start from random weights of `modelPath`'s config.json instead of its weights. */
    fromConfig: z.boolean().default(false),
    /** A JSONL file, a text file (pretraining) or a folder of them. */
    data: z.string().min(1).optional(),
    /** Rows handed over in memory (SQL tables); used instead of `data`. */
    rows: z.array(z.unknown()).optional(),
    dataFormat: z.enum(DATA_FORMATS).default('auto'),
    /** `lora` (finetune default) trains adapters; `full` (pretrain default) trains every weight. */
    method: z.enum(['lora', 'full']).optional(),
    /**
     * `4bit`: the frozen base weights under the LoRA adapters are held as 4-bit NF4 blocks (QLoRA,
     * python/byzerllm_train/quantize.py); the merged model folds the adapters into the dequantised
     * weights training saw. Defaults to `none`.
     */
    quantization: z.enum(['none', '4bit']).default('none'),
    loraRank: z.number().int().min(1).max(1024).default(8),
    /** Defaults to twice the rank. */
    loraAlpha: z.number().positive().optional(),
    loraDropout: z.number().min(0).max(0.9).default(0.05),
    loraTargets: z
      .array(z.enum(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']))
      .min(1)
      .default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
    epochs: z.number().int().min(1).max(100_000).default(1),
    /** Stops after this many optimizer steps (overrides `epochs`). */
    maxSteps: z.number().int().min(1).optional(),
    maxSeqLength: z.number().int().min(8).max(1_048_576).default(1024),
    /** Peak learning rate. Defaults to 2e-4 for LoRA, 5e-5 for full training. */
    learningRate: z.number().positive().max(10).optional(),
    /** Examples per worker per micro-batch. */
    batchSize: z.number().int().min(1).max(65_536).default(4),
    gradientAccumulation: z.number().int().min(1).max(65_536).default(1),
    warmupSteps: z.number().int().min(0).optional(),
    warmupRatio: z.number().min(0).max(1).default(0.03),
    minLearningRateRatio: z.number().min(0).max(1).default(0),
    weightDecay: z.number().min(0).default(0),
    betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    /** Gradient-norm clipping; 0 turns it off. */
    maxGradNorm: z.number().min(0).default(1),
    /** `auto`: bf16 (or fp16) autocast on GPUs, fp32 on CPU. */
    precision: z.enum(['auto', 'fp32', 'bf16', 'fp16']).default('auto'),
    /** Data-parallel workers; on a node given a `distributed` part, that node's share of them. */
    numWorkers: z.number().int().min(1).max(1024).default(1),
    /**
     * Cluster jobs only: spread the workers over exactly this many nodes. Defaults to one node when
     * they fit there, else as many as they need.
     */
    nodes: z.number().int().min(1).max(1024).optional(),
    /** Set by the cluster's head on each node of a job spread over several (see above). */
    distributed: distributedPartSchema.optional(),
    gpusPerWorker: z.number().int().min(0).max(64).default(0),
    /** Torch threads per worker. */
    cpusPerWorker: z.number().int().min(1).max(1024).default(1),
    saveSteps: z.number().int().min(1).default(100),
    saveTotalLimit: z.number().int().min(1).default(2),
    evalSteps: z.number().int().min(1).optional(),
    /** Share held out for the eval loss. Defaults to 0.1 (0 below 10 rows). */
    evalRatio: z.number().min(0).max(0.5).optional(),
    loggingSteps: z.number().int().min(1).default(1),
    seed: z.number().int().min(0).default(42),
    /** Tensor type of the registered `model.gguf`'s matrices: `f32` (default, exact), `f16`, `q8_0`. */
    outtype: z.enum(GGUF_OUTPUT_TYPES).default('f32'),
    /** Deploy the result on llama_cpp under this name when the job succeeds. */
    deploy: z
      .string()
      .regex(JOB_NAME_PATTERN, 'a deployment name is 1-128 letters, digits, "_", "." or "-"')
      .optional(),
    /** Warnings gathered while reading the options (e.g. DeepSpeed fields that cannot be honoured). */
    warnings: z.array(z.string()).default([]),
  })
  .refine((options) => options.data !== undefined || options.rows !== undefined, {
    message: 'give the training data: data (a file or folder) or rows',
    path: ['data'],
  })
  .refine((options) => options.quantization === 'none' || methodOf(options) === 'lora', {
    message:
      '4-bit quantization needs the lora method: 4-bit weights do not train (use --method lora or --qlora)',
    path: ['quantization'],
  });

export type TrainingOptionsInput = z.input<typeof trainingOptionsSchema>;
export type TrainingOptions = z.infer<typeof trainingOptionsSchema>;

/** The method after defaults: finetuning trains LoRA adapters, pretraining every weight. */
export function methodOf(options: {
  method?: 'lora' | 'full' | undefined;
  kind: 'finetune' | 'pretrain';
}): 'lora' | 'full' {
  return options.method ?? (options.kind === 'finetune' ? 'lora' : 'full');
}
