/**
 * The `--infer_params` of the llama_cpp engine (all strings, as on the command line).
 *
 * - `n_gpu_layers` / `num_gpu_layers` — layers offloaded to the GPU; `-1` means all. Defaults to all
 *   when the worker has GPUs assigned, 0 otherwise.
 * - `n_ctx` / `context_size` / `max_model_len` — context tokens shared by the worker's sequences.
 *   Defaults to 2048 per sequence, capped by the model's training context.
 * - `threads` / `n_threads` — CPU threads. Defaults to 1: on small machines more threads fight each
 *   other and the other workers (measured: 2 threads on 2 cores is 4-20x slower).
 * - `verbose` — `true` lets llama.cpp log to the worker's stderr.
 * - `lora` — a LoRA adapter GGUF (several separated by commas); `lora_scale` — its weight (1).
 * - `max_tokens` — generation cap for requests that set none. Defaults to half a sequence's context.
 * - `stream_interval_ms` — minimum milliseconds between streamed text parts (10); tokens generated
 *   faster are sent together, on ticks shared by the model's concurrent streams (none waits longer),
 *   the first one always at once. `0` sends every chunk on its own.
 * - `template` — `auto` (the GGUF's own chat template, the default) or a node-llama-cpp chat
 *   wrapper name (`chatml`, `llama3`, `llama3.1`, `llama2Chat`, `mistral`, `gemma`, `general`, …).
 * - `matryoshka` — `true` for embedding models trained to be cut short (nomic-embed, mxbai, …):
 *   requests with a smaller `dimensions` get the first N values, renormalised. Without it a
 *   `dimensions` other than the model's own is refused (a cut vector of another model is no embedding).
 * A `backend.` prefix is accepted on every key (`backend.n_ctx=4096`). Unknown keys become warnings.
 */
import { InvalidArgumentError } from '../../core/errors.js';

export interface LlamaCppParams {
  /** `undefined` = engine default (all with GPUs, none without); -1 = all. */
  gpuLayers: number | undefined;
  contextSize: number | undefined;
  threads: number;
  verbose: boolean;
  loraPaths: string[];
  loraScale: number;
  template: string;
  maxTokens: number | undefined;
  streamIntervalMs: number;
  matryoshka: boolean;
}

const KNOWN_KEYS = [
  'n_gpu_layers',
  'num_gpu_layers',
  'n_ctx',
  'context_size',
  'max_model_len',
  'threads',
  'n_threads',
  'verbose',
  'lora',
  'lora_scale',
  'template',
  'max_tokens',
  'stream_interval_ms',
  'matryoshka',
];

export function readLlamaCppParams(
  inferParams: Record<string, string>,
  warn: (message: string) => void,
): LlamaCppParams {
  const values = new Map<string, string>();
  for (const [rawKey, value] of Object.entries(inferParams)) {
    const key = rawKey.startsWith('backend.') ? rawKey.slice('backend.'.length) : rawKey;
    if (KNOWN_KEYS.includes(key)) values.set(key, value.trim());
    else if (!rawKey.startsWith('saas.')) {
      warn(`unknown parameter ${rawKey} ignored by the llama_cpp engine (known: ${KNOWN_KEYS.join(', ')})`);
    }
  }
  const first = (...keys: string[]) =>
    keys.map((key) => values.get(key)).find((value) => value !== undefined);
  const gpuLayersText = first('n_gpu_layers', 'num_gpu_layers');
  const contextText = first('n_ctx', 'context_size', 'max_model_len');
  const threadsText = first('threads', 'n_threads');
  const verboseText = values.get('verbose');
  return {
    gpuLayers: gpuLayersText === undefined ? undefined : readInteger('n_gpu_layers', gpuLayersText, -1),
    contextSize: contextText === undefined ? undefined : readInteger('n_ctx', contextText, 16),
    threads: threadsText === undefined ? 1 : readInteger('threads', threadsText, 0),
    verbose: verboseText === undefined ? false : readBoolean('verbose', verboseText),
    loraPaths: (values.get('lora') ?? '')
      .split(',')
      .map((path) => path.trim())
      .filter((path) => path !== ''),
    loraScale: readNumber('lora_scale', values.get('lora_scale') ?? '1'),
    template: values.get('template') || 'auto',
    maxTokens: values.has('max_tokens') ? readInteger('max_tokens', values.get('max_tokens')!, 1) : undefined,
    streamIntervalMs: readInteger('stream_interval_ms', values.get('stream_interval_ms') ?? '10', 0),
    matryoshka: readBoolean('matryoshka', values.get('matryoshka') ?? 'false'),
  };
}

/** Context tokens per sequence when `n_ctx` is not given. */
const DEFAULT_CONTEXT_PER_SEQUENCE = 2048;

/**
 * The `contextSize` to give node-llama-cpp, which is per sequence (every sequence gets its own
 * cells), while `n_ctx` is the worker's total shared by its sequences. Passing the total allocated
 * it once per sequence: worker_concurrency times the memory (2.2 GB instead of 0.3 GB for the
 * 86 MB bench model at 8 sequences). Capped by the model's training context.
 */
export function contextSizePerSequence(
  params: LlamaCppParams,
  sequenceCount: number,
  trainContextSize: number,
): number {
  const wanted =
    params.contextSize === undefined
      ? DEFAULT_CONTEXT_PER_SEQUENCE
      : Math.max(16, Math.floor(params.contextSize / sequenceCount));
  return Math.min(wanted, trainContextSize);
}

function readInteger(key: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError(`${key} must be an integer >= ${minimum}; got "${text}"`);
  }
  return value;
}

function readNumber(key: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`${key} must be a number; got "${text}"`);
  return value;
}

function readBoolean(key: string, text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new InvalidArgumentError(`${key} must be true or false; got "${text}"`);
}
