/**
 * The `backend.*` parameters of the transformers engine, and the model folder it loads.
 *
 * - `backend.dtype` — which ONNX weights to load: `fp32` (default, `onnx/model.onnx`), `fp16`,
 *   `q8`, `int8`, `uint8`, `q4`, `bnb4`, `q4f16` (the `onnx/model_<suffix>.onnx` files that
 *   Hugging Face ONNX exports ship).
 * - `backend.threads` — onnxruntime intra-op threads. Defaults to 1: more threads on a small
 *   machine make every worker slower, and workers already run in parallel.
 * - `backend.pooling` (`custom/bge`, `custom/m3e`) — `cls` (default for bge; what BGE models are
 *   trained for) or `mean` (default for m3e, whose sentence-transformers config pools by mean).
 * - `backend.normalize` (`custom/bge`, `custom/m3e`) — unit-length vectors; `true` by default for
 *   bge, `false` for m3e (its sentence-transformers pipeline has no Normalize step).
 * - `backend.batch_size` (`custom/bge_rerank`) — query/document pairs per forward pass. Default 16.
 * Other `backend.*` keys are reported through `context.warn` and otherwise ignored.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';

export const TRANSFORMERS_MODEL_TYPES = [
  'custom/auto',
  'custom/bge',
  'custom/m3e',
  'custom/bge_rerank',
  'custom/whisper',
] as const;
export type TransformersModelType = (typeof TRANSFORMERS_MODEL_TYPES)[number];

/** ONNX weight variants and the file-name suffix each one has in an export's `onnx/` folder. */
export const DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  bnb4: '_bnb4',
  q4f16: '_q4f16',
} as const;
export type OnnxDtype = keyof typeof DTYPE_SUFFIXES;

export interface TransformersParams {
  dtype: OnnxDtype;
  threads: number;
  pooling: 'cls' | 'mean';
  normalize: boolean;
  batchSize: number;
}

const KNOWN_PARAMS = [
  'backend.dtype',
  'backend.threads',
  'backend.pooling',
  'backend.normalize',
  'backend.batch_size',
];

export function readTransformersParams(
  inferParams: Record<string, string>,
  warn: (message: string) => void,
  modelType?: TransformersModelType,
): TransformersParams {
  const m3e = modelType === 'custom/m3e';
  for (const key of Object.keys(inferParams)) {
    if (key.startsWith('backend.') && !KNOWN_PARAMS.includes(key)) {
      warn(`unknown parameter ${key} ignored by the transformers engine (known: ${KNOWN_PARAMS.join(', ')})`);
    }
  }
  const dtype = (inferParams['backend.dtype'] ?? 'fp32').trim();
  if (!Object.hasOwn(DTYPE_SUFFIXES, dtype)) {
    throw new InvalidArgumentError(
      `backend.dtype must be one of ${Object.keys(DTYPE_SUFFIXES).join(', ')}, got "${dtype}"`,
    );
  }
  const pooling = (inferParams['backend.pooling'] ?? (m3e ? 'mean' : 'cls')).trim();
  if (pooling !== 'cls' && pooling !== 'mean') {
    throw new InvalidArgumentError(`backend.pooling must be cls or mean, got "${pooling}"`);
  }
  const normalize = (inferParams['backend.normalize'] ?? (m3e ? 'false' : 'true')).trim().toLowerCase();
  if (normalize !== 'true' && normalize !== 'false') {
    throw new InvalidArgumentError(`backend.normalize must be true or false, got "${normalize}"`);
  }
  return {
    dtype: dtype as OnnxDtype,
    threads: readPositiveInteger('backend.threads', inferParams['backend.threads'], 1),
    pooling,
    normalize: normalize === 'true',
    batchSize: readPositiveInteger('backend.batch_size', inferParams['backend.batch_size'], 16),
  };
}

function readPositiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${value}"`);
  }
  return number;
}

/**
 * The loading options every transformers model class passes: the chosen ONNX weights, local files
 * only (never a download), and `threads` for the ONNX session (one inter-op thread: the work is one
 * graph at a time).
 */
export function localLoadOptions(params: TransformersParams) {
  return {
    dtype: params.dtype,
    local_files_only: true,
    session_options: { intraOpNumThreads: params.threads, interOpNumThreads: 1 },
  } as const;
}

/** What the engine needs from the folder's `config.json` and `tokenizer_config.json`. */
export interface ModelFolder {
  /** Absolute path. */
  folder: string;
  modelType: string;
  architectures: string[];
  maxModelLength?: number;
  hiddenSize?: number;
}

/**
 * Checks the model folder before the library sees it, so a wrong path or a missing file is one clear
 * error naming what is missing instead of a library stack trace.
 */
export async function readModelFolder(
  modelPath: string,
  modelType: TransformersModelType,
  dtype: OnnxDtype,
): Promise<ModelFolder> {
  if (modelPath.trim() === '') {
    throw new InvalidArgumentError(
      `${modelType} needs --model_path, a local model folder (config.json, tokenizer.json, onnx/)`,
    );
  }
  const folder = path.resolve(modelPath);
  const stat = await fs.stat(folder).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new InvalidArgumentError(
      `--model_path "${modelPath}" is not a folder; ${modelType} loads a local model folder`,
    );
  }
  const suffix = DTYPE_SUFFIXES[dtype];
  const onnxFiles =
    modelType === 'custom/whisper'
      ? [`onnx/encoder_model${suffix}.onnx`, `onnx/decoder_model_merged${suffix}.onnx`]
      : [`onnx/model${suffix}.onnx`];
  const required = ['config.json', 'tokenizer.json', ...onnxFiles];
  if (modelType === 'custom/whisper') required.push('preprocessor_config.json', 'generation_config.json');
  const missing: string[] = [];
  for (const file of required) {
    if (!(await fs.stat(path.join(folder, file)).catch(() => undefined))?.isFile()) missing.push(file);
  }
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `model folder ${folder} lacks ${missing.join(', ')} (needed by ${modelType} with backend.dtype=${dtype}); export the model to ONNX in the Hugging Face layout`,
    );
  }
  const config = await readJsonObject(path.join(folder, 'config.json'));
  const tokenizerConfig: Record<string, unknown> = await readJsonObject(
    path.join(folder, 'tokenizer_config.json'),
  ).catch(() => ({}));
  if (modelType === 'custom/auto' && !hasChatTemplate(tokenizerConfig)) {
    throw new InvalidArgumentError(
      `custom/auto renders conversations with the model's chat template, and ${path.join(folder, 'tokenizer_config.json')} has no chat_template`,
    );
  }
  const configModelType = typeof config.model_type === 'string' ? config.model_type : '';
  if (modelType === 'custom/whisper' && configModelType !== 'whisper') {
    throw new InvalidArgumentError(
      `custom/whisper needs a Whisper model folder (config.json model_type "whisper"); ${folder} has model_type "${configModelType}"`,
    );
  }
  if (modelType !== 'custom/whisper' && configModelType === 'whisper') {
    throw new InvalidArgumentError(
      `${folder} holds a Whisper model; deploy it as custom/whisper, not ${modelType}`,
    );
  }
  const architectures = Array.isArray(config.architectures)
    ? config.architectures.filter((name): name is string => typeof name === 'string')
    : [];
  const maxModelLength =
    positiveNumber(tokenizerConfig.model_max_length) ??
    positiveNumber(config.max_position_embeddings) ??
    positiveNumber(config.max_target_positions);
  const hiddenSize = positiveNumber(config.hidden_size) ?? positiveNumber(config.d_model);
  return {
    folder,
    modelType: configModelType,
    architectures,
    ...(maxModelLength !== undefined ? { maxModelLength } : {}),
    ...(hiddenSize !== undefined ? { hiddenSize } : {}),
  };
}

async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const text = await fs.readFile(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${file} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function hasChatTemplate(tokenizerConfig: Record<string, unknown>): boolean {
  const template = tokenizerConfig.chat_template;
  return (
    (typeof template === 'string' && template !== '') || (Array.isArray(template) && template.length > 0)
  );
}

/** Tokenizer configs use a huge sentinel (1e30) for "no limit": treat that as unknown. */
function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 1e9 ? value : undefined;
}
