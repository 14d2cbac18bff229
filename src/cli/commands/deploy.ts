import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  checkDeploymentName,
  type DeploymentSpecInput,
  InvalidArgumentError,
  LOAD_BALANCE_STRATEGIES,
  PINNABLE_KINDS,
  TEMPLATE_NAMES,
} from '../../core/index.js';
import { INFER_BACKENDS, SAAS_MODEL_TYPES } from '../../engines/index.js';
import { resolveStateDirectory } from '../../cluster/index.js';
import {
  inferParamsFromConfig,
  isQuiet,
  parseInferParams,
  printArgumentsBanner,
  mergeConfigFile,
} from '../arguments.js';
import { chosenAddress, connect } from '../connect.js';
import { showLoadProgress } from '../load-progress.js';
import { message } from '../messages.js';
import { addAddressOptions, parseNonNegativeNumber, parsePositiveInteger } from '../options.js';
import { resolveSecretParams } from '../secret-values.js';

const CONFIG_KEYS = [
  'model',
  'pretrained_model_type',
  'infer_backend',
  'model_path',
  'num_workers',
  'worker_concurrency',
  'cpus_per_worker',
  'gpus_per_worker',
  'gpu_gpus_per_worker',
  'infer_params',
  'load_balance',
  'queue_timeout',
  'pin',
  'default_params',
  'template',
  'address',
  'ray_address',
];

interface DeployFlags {
  model?: string;
  pretrained_model_type?: string;
  infer_backend?: string;
  model_path?: string;
  num_workers?: number;
  worker_concurrency?: number;
  cpus_per_worker?: number;
  gpus_per_worker?: number;
  /** Byzer-LLM's documented spelling of `gpus_per_worker`. */
  gpu_gpus_per_worker?: number;
  infer_params?: string[] | Record<string, string>;
  load_balance?: string;
  queue_timeout?: number;
  pin?: string[];
  default_params?: string[] | Record<string, string>;
  template?: string;
  json?: boolean;
  address?: string;
  ray_address?: string;
  file?: string;
}

export function registerDeploy(program: Command): void {
  const command = program
    .command('deploy')
    .description('deploy a named model instance: a pool of workers behind a load balancer')
    .option('--model <name>', 'the instance name clients use to reach the model (required)')
    .option(
      '--pretrained_model_type <type>',
      `saas/<provider> or custom/<module>; e.g. ${SAAS_MODEL_TYPES[0]}`,
    )
    .option('--infer_backend <backend>', `local engine: ${INFER_BACKENDS.join(' | ')} (not for saas/*)`)
    .option('--model_path <path>', 'local model file or folder (GGUF file for llama_cpp)')
    .option('--num_workers <n>', 'number of workers (default 1)', parsePositiveInteger)
    .option('--worker_concurrency <n>', 'concurrent requests per worker (default 1)', parsePositiveInteger)
    .option('--cpus_per_worker <n>', 'CPUs reserved per worker (default 0.01)', parseNonNegativeNumber)
    .option(
      '--gpus_per_worker <n>',
      'GPUs per worker, fractions share a GPU (default 0)',
      parseNonNegativeNumber,
    )
    .option(
      '--gpu_gpus_per_worker <n>',
      'the same as --gpus_per_worker (the spelling in Byzer-LLM docs)',
      parseNonNegativeNumber,
    )
    .option(
      '--infer_params <key=value...>',
      'engine parameters, e.g. saas.api_key=env:OPENAI_API_KEY saas.model=… saas.base_url=…; a secret given as env:VAR or - (stdin) stays out of `ps`',
    )
    .addOption(
      new Option(
        '--load_balance <strategy>',
        'how requests pick a worker (default prefix_affinity on llama_cpp, else lru)',
      ).choices(LOAD_BALANCE_STRATEGIES),
    )
    .option(
      '--queue_timeout <seconds>',
      'how long a request waits for a free slot (default 10)',
      parseNonNegativeNumber,
    )
    .option('--pin <kind=index...>', `send a request kind to one worker; kinds: ${PINNABLE_KINDS.join(', ')}`)
    .option(
      '--default_params <key=value...>',
      'generation defaults for every chat request that does not set them, e.g. temperature=0.2 max_tokens=512',
    )
    .addOption(
      new Option(
        '--template <name>',
        'the chat template clients use unless they set one (default auto)',
      ).choices(TEMPLATE_NAMES),
    )
    .option('--json', 'print {"model","status","warnings"} instead of sentences', false);
  addAddressOptions(command).action(async (flags: DeployFlags) => {
    const merged: DeployFlags = await mergeConfigFile(flags, CONFIG_KEYS);
    const inferParams = await resolveSecretParams(
      Array.isArray(merged.infer_params) || typeof merged.infer_params === 'string'
        ? parseInferParams(merged.infer_params)
        : inferParamsFromConfig(merged.infer_params),
    );
    printArgumentsBanner({ ...merged, infer_params: inferParams, address: chosenAddress(merged) });
    if (!merged.model)
      throw new InvalidArgumentError('missing --model: the deployment name, e.g. --model gpt_chat');
    const badName = checkDeploymentName(String(merged.model));
    if (badName) throw new InvalidArgumentError(badName);
    if (!merged.pretrained_model_type) {
      throw new InvalidArgumentError(
        `missing --pretrained_model_type; allowed: ${SAAS_MODEL_TYPES.join(', ')}, or custom/auto with --infer_backend`,
      );
    }
    const spec: DeploymentSpecInput = {
      name: merged.model,
      pretrainedModelType: merged.pretrained_model_type,
      inferBackend: merged.infer_backend ?? '',
      modelPath: localModelPath(merged.model_path ?? ''),
      inferParams,
      pinning: parsePinning(merged.pin),
    };
    if (merged.num_workers !== undefined) spec.numWorkers = Number(merged.num_workers);
    if (merged.worker_concurrency !== undefined) spec.workerConcurrency = Number(merged.worker_concurrency);
    if (merged.cpus_per_worker !== undefined) spec.cpusPerWorker = Number(merged.cpus_per_worker);
    if (
      merged.gpus_per_worker !== undefined &&
      merged.gpu_gpus_per_worker !== undefined &&
      Number(merged.gpus_per_worker) !== Number(merged.gpu_gpus_per_worker)
    ) {
      throw new InvalidArgumentError(
        `--gpus_per_worker ${merged.gpus_per_worker} and --gpu_gpus_per_worker ${merged.gpu_gpus_per_worker} disagree; give one`,
      );
    }
    const gpusPerWorker = merged.gpus_per_worker ?? merged.gpu_gpus_per_worker;
    if (gpusPerWorker !== undefined) spec.gpusPerWorker = Number(gpusPerWorker);
    if (merged.queue_timeout !== undefined) spec.queueTimeoutSeconds = Number(merged.queue_timeout);
    if (merged.load_balance !== undefined)
      spec.loadBalance = merged.load_balance as DeploymentSpecInput['loadBalance'];
    if (merged.default_params !== undefined) {
      spec.generationDefaults =
        Array.isArray(merged.default_params) || typeof merged.default_params === 'string'
          ? parseInferParams(merged.default_params)
          : inferParamsFromConfig(merged.default_params);
    }
    if (merged.template !== undefined) spec.template = merged.template as DeploymentSpecInput['template'];
    const cluster = await connect(merged);
    const stopProgress = await loadProgressFor(spec, chosenAddress(merged));
    try {
      const outcome = await cluster.deploy(spec).finally(stopProgress);
      if (merged.json) {
        const { status, warnings } = outcome;
        process.stdout.write(`${JSON.stringify({ model: spec.name, status, warnings })}\n`);
        return;
      }
      for (const warning of outcome.warnings) process.stderr.write(`${message('warning', warning)}\n`);
      const done = outcome.status === 'already_deployed' ? 'alreadyDeployed' : 'deployed';
      process.stdout.write(`${message(done, spec.name)}\n`);
    } finally {
      await cluster.close();
    }
  });
}

/**
 * A local model on the local head loads in worker processes whose logs are on this machine: show
 * their progress (not under --quiet, not for SaaS models, which load at once).
 */
async function loadProgressFor(spec: DeploymentSpecInput, address: string): Promise<() => Promise<void>> {
  if (isQuiet() || address !== 'auto' || spec.pretrainedModelType.trim().startsWith('saas/')) {
    return async () => {};
  }
  return showLoadProgress({
    stateDirectory: resolveStateDirectory(),
    deployment: spec.name,
    workers: spec.numWorkers ?? 1,
    stream: process.stderr,
  });
}

function parsePinning(entries: string[] | undefined): DeploymentSpecInput['pinning'] {
  const pinning: Record<string, number> = {};
  for (const entry of entries ?? []) {
    const [kind, index] = entry.split('=');
    if (!kind || !(PINNABLE_KINDS as readonly string[]).includes(kind) || !index || !/^\d+$/.test(index)) {
      throw new InvalidArgumentError(
        `malformed --pin ${JSON.stringify(entry)}: expected kind=index with kind one of ${PINNABLE_KINDS.join(', ')}`,
      );
    }
    pinning[kind] = Number(index);
  }
  return pinning;
}

/**
 * A relative `--model_path` that exists here is made absolute: the head resolves paths from its own
 * working directory, which is wherever it was first started. Anything else (a Hugging Face id for
 * vLLM, a path on a remote head) is passed unchanged.
 */
function localModelPath(modelPath: string): string {
  if (modelPath === '' || path.isAbsolute(modelPath)) return modelPath;
  const absolute = path.resolve(modelPath);
  return fs.existsSync(absolute) ? absolute : modelPath;
}
