/**
 * How a vLLM deployment's spec becomes a server command line.
 *
 * `backend.*` parameters (all strings, as on the command line):
 * - `backend.gpu_memory_utilization` — fraction in (0, 1]. Defaults to 0.9 (the original's default).
 * - `backend.max_model_len` — context length, a whole number.
 * - `backend.enforce_eager`, `backend.trust_remote_code` — `true`/`false`; `true` adds the flag.
 * - `backend.quantization` — `awq`, `gptq` and the other methods in `VLLM_QUANTIZATIONS`.
 * - `backend.tensor_parallel_size` — defaults to the number of GPUs placed on the worker.
 * - `backend.served_model_name` — the model name vLLM answers to. Defaults to the deployment name.
 * - `backend.command` — the server command. Defaults to env `BYZERLLM_VLLM_COMMAND`, then
 *   `python3 -m vllm.entrypoints.openai.api_server`. `vllm serve` works too.
 * - `backend.startup_timeout` — seconds to wait for `/health`. Defaults to 900 (large models load
 *   slowly).
 * Every other `backend.<key>` is passed on as `--<key-with-dashes> <value>` (`true` as a bare flag,
 * `false` left out), as the original passed unknown keys to vLLM's engine arguments.
 * `backend.host`, `backend.port`, `backend.api_key` are ours to choose and are ignored with a warning;
 * so are the Ray-era `backend.worker_use_ray` and `backend.engine_use_ray`.
 */
import { parse as parseShellWords } from 'shell-quote';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError } from '../../core/errors.js';

export const DEFAULT_VLLM_COMMAND = 'python3 -m vllm.entrypoints.openai.api_server';

export const VLLM_QUANTIZATIONS = [
  'awq',
  'gptq',
  'awq_marlin',
  'gptq_marlin',
  'marlin',
  'fp8',
  'bitsandbytes',
  'gguf',
  'compressed-tensors',
] as const;

/** Keys with a meaning of their own here; everything else under `backend.` is passed through. */
const OWN_KEYS = [
  'backend.gpu_memory_utilization',
  'backend.max_model_len',
  'backend.enforce_eager',
  'backend.trust_remote_code',
  'backend.quantization',
  'backend.tensor_parallel_size',
  'backend.served_model_name',
  'backend.command',
  'backend.startup_timeout',
];
const IGNORED_KEYS = [
  'backend.host',
  'backend.port',
  'backend.api_key',
  'backend.worker_use_ray',
  'backend.engine_use_ray',
];

export interface VllmLaunch {
  /** Program and its leading arguments, e.g. `['python3', '-m', 'vllm.entrypoints.openai.api_server']`. */
  command: string[];
  /** Whether `command` is the default (then a missing vLLM gets its own clear error). */
  isDefaultCommand: boolean;
  /** Flags after the command, without `--host`, `--port` and `--api-key` (chosen at start). */
  flags: string[];
  servedModelName: string;
  startupTimeoutMs: number;
  /** `CUDA_VISIBLE_DEVICES` for the server, when GPUs were placed on this worker. */
  cudaVisibleDevices?: string;
  /** The server was asked to serve embeddings (`backend.task=embed`). */
  embeddingTask: boolean;
}

export function readVllmLaunch(context: EngineContext, environment: NodeJS.ProcessEnv): VllmLaunch {
  const { spec } = context;
  const params = spec.inferParams;
  if (spec.modelPath.trim() === '') {
    throw new InvalidArgumentError(
      'the vllm backend needs --model_path, a model folder or Hugging Face id vLLM can load',
    );
  }
  const commandText = params['backend.command']?.trim() || environment.BYZERLLM_VLLM_COMMAND?.trim() || '';
  const command = commandText === '' ? DEFAULT_VLLM_COMMAND.split(' ') : shellWords(commandText);
  if (command.length === 0) throw new InvalidArgumentError('backend.command is empty');

  const flags = ['--model', spec.modelPath.trim()];
  const servedModelName = params['backend.served_model_name']?.trim() || spec.name;
  flags.push('--served-model-name', servedModelName);

  const utilization = params['backend.gpu_memory_utilization']?.trim() || '0.9';
  const fraction = Number(utilization);
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction <= 1)) {
    throw new InvalidArgumentError(
      `backend.gpu_memory_utilization must be a number in (0, 1], got "${utilization}"`,
    );
  }
  flags.push('--gpu-memory-utilization', String(fraction));

  const maxModelLength = params['backend.max_model_len'];
  if (maxModelLength !== undefined) {
    flags.push('--max-model-len', String(positiveInteger('backend.max_model_len', maxModelLength)));
  }
  for (const key of ['enforce_eager', 'trust_remote_code']) {
    if (readBoolean(`backend.${key}`, params[`backend.${key}`])) flags.push(`--${key.replaceAll('_', '-')}`);
  }
  const quantization = params['backend.quantization']?.trim().toLowerCase();
  if (quantization !== undefined && quantization !== '') {
    if (!(VLLM_QUANTIZATIONS as readonly string[]).includes(quantization)) {
      throw new InvalidArgumentError(
        `backend.quantization must be one of ${VLLM_QUANTIZATIONS.join(', ')}, got "${params['backend.quantization']}"`,
      );
    }
    flags.push('--quantization', quantization);
  }
  const placedGpus =
    context.gpuIndices.length > 0 ? context.gpuIndices.length : Math.floor(spec.gpusPerWorker);
  const tensorParallel = params['backend.tensor_parallel_size'];
  if (tensorParallel !== undefined) {
    flags.push(
      '--tensor-parallel-size',
      String(positiveInteger('backend.tensor_parallel_size', tensorParallel)),
    );
  } else if (placedGpus >= 1) {
    flags.push('--tensor-parallel-size', String(placedGpus));
  }

  let embeddingTask = false;
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith('backend.') || OWN_KEYS.includes(key)) continue;
    if (IGNORED_KEYS.includes(key)) {
      context.warn(
        `${key} ignored by the vllm backend: byzerllm chooses the server's host, port and key, and runs no Ray`,
      );
      continue;
    }
    const name = key.slice('backend.'.length);
    if (!/^[a-z0-9_-]+$/i.test(name)) {
      throw new InvalidArgumentError(`${key} is not a valid vLLM option name (letters, digits, "_" or "-")`);
    }
    if (name === 'task' && ['embed', 'embedding'].includes(value.trim())) embeddingTask = true;
    const flag = `--${name.replaceAll('_', '-')}`;
    const lowered = value.trim().toLowerCase();
    if (lowered === 'true') flags.push(flag);
    else if (lowered !== 'false') flags.push(flag, value);
  }

  const launch: VllmLaunch = {
    command,
    isDefaultCommand: commandText === '',
    flags,
    servedModelName,
    startupTimeoutMs:
      positiveInteger('backend.startup_timeout', params['backend.startup_timeout'] ?? '900') * 1000,
    embeddingTask,
  };
  if (context.gpuIndices.length > 0) launch.cudaVisibleDevices = context.gpuIndices.join(',');
  return launch;
}

function shellWords(text: string): string[] {
  const words = parseShellWords(text);
  if (!words.every((word): word is string => typeof word === 'string')) {
    throw new InvalidArgumentError(
      `backend.command must be a plain command line without shell operators, got "${text}"`,
    );
  }
  return words;
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${value}"`);
  }
  return number;
}

function readBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const lowered = value.trim().toLowerCase();
  if (lowered === 'true') return true;
  if (lowered === 'false' || lowered === '') return false;
  throw new InvalidArgumentError(`${name} must be true or false, got "${value}"`);
}
