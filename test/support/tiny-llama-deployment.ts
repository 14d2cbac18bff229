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
  workers?: number;
  workerConcurrency?: number;
  /** The deployment's default `max_tokens`. */
  maxTokens: number;
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
    '--num_workers',
    String(deployment.workers ?? 1),
    '--worker_concurrency',
    String(deployment.workerConcurrency ?? 1),
    '--infer_params',
    `max_tokens=${deployment.maxTokens}`,
    '--model',
    deployment.name,
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);
  return modelPath;
}
