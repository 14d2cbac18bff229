/**
 * Deploys the generated tiny GGUF on llama_cpp through the real CLI of a test home, as a user would
 * (`byzerllm deploy --infer_backend llama_cpp --model_path …`).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import type { TestHome } from './cli.js';

export interface TinyLlamaDeployment {
  name: string;
  /** Defaults to the CLI's default (1). */
  workers?: number;
  /** Defaults to the CLI's default (1). */
  workerConcurrency?: number;
  /** `--infer_params`, e.g. `max_tokens=16`. */
  inferParams: string;
}

/** Returns the model file's path. */
export async function deployTinyLlama(home: TestHome, deployment: TinyLlamaDeployment): Promise<string> {
  const modelPath = (await ensureTinyLlamaModel(path.join(home.home, 'models'))).path;
  const deployed = await home.run([
    'deploy',
    '--pretrained_model_type',
    'custom/auto',
    '--infer_backend',
    'llama_cpp',
    '--model_path',
    modelPath,
    ...(deployment.workers === undefined ? [] : ['--num_workers', String(deployment.workers)]),
    ...(deployment.workerConcurrency === undefined
      ? []
      : ['--worker_concurrency', String(deployment.workerConcurrency)]),
    '--infer_params',
    deployment.inferParams,
    '--model',
    deployment.name,
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);
  return modelPath;
}
