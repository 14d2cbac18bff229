/**
 * `byzerllm merge` and `byzerllm convert` as functions: fold a LoRA adapter into its base model
 * (PyTorch, so the merged weights are computed exactly as training saw them), and write GGUF files
 * for llama_cpp.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { convertHfToGguf, convertLoraToGguf } from './convert-to-gguf.js';
import type { GgufOutputType } from './gguf-encoding.js';
import { readHfModelInfo } from './hf-model.js';
import { checkTorchRuntime, pythonEnvironment, pythonExecutable } from './python-runtime.js';

export interface MergeOptions {
  /** The base model's Hugging Face folder. */
  modelPath: string;
  /** The PEFT adapter folder (adapter_config.json, adapter_model.safetensors). */
  adapterPath: string;
  /** The merged model's folder. */
  output: string;
  /** Also write `<output>/model.gguf`. Defaults to true. */
  gguf?: boolean;
  /** Tensor type of that GGUF's matrices. Defaults to `f32`. */
  outtype?: GgufOutputType;
}

export async function mergeLoraAdapter(
  options: MergeOptions,
): Promise<{ huggingFace: string; gguf?: string }> {
  await readHfModelInfo(options.modelPath);
  await checkTorchRuntime();
  await new Promise<void>((resolve, reject) => {
    execFile(
      pythonExecutable(),
      [
        '-m',
        'byzerllm_train',
        'merge',
        '--base',
        options.modelPath,
        '--adapter',
        options.adapterPath,
        '--output',
        options.output,
      ],
      { env: pythonEnvironment(), maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (!error) resolve();
        else
          reject(
            new InvalidArgumentError(`merge failed: ${stderr.trim().split('\n').pop() ?? error.message}`),
          );
      },
    );
  });
  if (options.gguf === false) return { huggingFace: options.output };
  const gguf = await convertHfToGguf({
    directory: options.output,
    output: path.join(options.output, 'model.gguf'),
    ...(options.outtype ? { outtype: options.outtype } : {}),
  });
  return { huggingFace: options.output, gguf };
}

export interface ConvertOptions {
  /** A Hugging Face folder: the model to convert, or the base of `adapterPath`. */
  modelPath: string;
  /** Convert this adapter (to a llama.cpp LoRA GGUF) instead of the model. */
  adapterPath?: string;
  output: string;
  /** Tensor type of a model's matrices (adapters are always F32). Defaults to `f32`. */
  outtype?: GgufOutputType;
}

export function convertToGguf(options: ConvertOptions): Promise<string> {
  return options.adapterPath
    ? convertLoraToGguf({
        adapterDirectory: options.adapterPath,
        baseDirectory: options.modelPath,
        output: options.output,
      })
    : convertHfToGguf({
        directory: options.modelPath,
        output: options.output,
        ...(options.outtype ? { outtype: options.outtype } : {}),
      });
}
