/**
 * The project's tiny llama (the quickstart's weights, in the Hugging Face layout) exported to the
 * ONNX folder transformers.js loads for `custom/auto` chat, and the plain torch model's greedy tokens
 * to compare its answers with. Both run `python3 -m byzerllm_train` (`export-onnx`, `greedy`) with
 * Debian's python3-torch, as the trainer does (test-only: not shipped).
 *
 * The export takes a few seconds, so it is cached in the system temp folder under a name derived
 * from the exporter's and model's source and the weights: a change to any of them writes a new one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { loadTransformers } from '../../../src/engines/transformers/load-library.js';
import {
  PYTHON_PACKAGE_ROOT,
  pythonEnvironment,
  pythonExecutable,
} from '../../../src/train/python-runtime.js';
import { ensureTinyHfModel } from '../../../src/train/tiny-hf-model.js';

const run = promisify(execFile);

export interface TinyLlamaOnnx {
  /** The ONNX folder: config.json, tokenizer files, generation_config.json, onnx/model.onnx. */
  folder: string;
  /** The Hugging Face folder it was exported from (safetensors weights for torch). */
  sourceFolder: string;
}

const CACHE = path.join(os.tmpdir(), 'byzerllm-test-cache');

export async function ensureTinyLlamaOnnx(): Promise<TinyLlamaOnnx> {
  const source = await ensureTinyHfModel(path.join(CACHE, 'models'));
  const hash = createHash('sha256');
  for (const file of ['byzerllm_train/onnx_export.py', 'byzerllm_train/model.py']) {
    hash.update(await fs.readFile(path.join(PYTHON_PACKAGE_ROOT, file)));
  }
  hash.update(await fs.readFile(path.join(source.path, 'model.safetensors')));
  const folder = path.join(CACHE, `tiny-llama-onnx-${hash.digest('hex').slice(0, 16)}`);
  if (await fs.stat(path.join(folder, 'onnx', 'model.onnx')).catch(() => undefined)) {
    return { folder, sourceFolder: source.path };
  }
  const temporary = await fs.mkdtemp(`${folder}.partial-`);
  try {
    await runTrainer(['export-onnx', '--model', source.path, '--output', temporary]);
    await fs.rename(temporary, folder);
  } catch (error) {
    await fs.rm(temporary, { recursive: true, force: true });
    // Another test process finished the same export first: its folder is as good as ours.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  return { folder, sourceFolder: source.path };
}

/** The tiny llama's tokenizer (SentencePiece pieces with byte fallback) as transformers.js loads it. */
export async function loadTinyLlamaTokenizer() {
  const source = await ensureTinyHfModel(path.join(CACHE, 'models'));
  const library = await loadTransformers();
  return library.AutoTokenizer.from_pretrained(source.path, { local_files_only: true });
}

/** The `count` tokens the plain torch model (no cache, no stop token) picks greedily after `tokens`. */
async function torchGreedyTokens(sourceFolder: string, tokens: number[], count: number): Promise<number[]> {
  const stdout = await runTrainer([
    'greedy',
    '--model',
    sourceFolder,
    '--tokens',
    tokens.join(','),
    '--count',
    String(count),
  ]);
  return z.object({ tokens: z.array(z.number().int()) }).parse(JSON.parse(stdout)).tokens;
}

/** The tiny model's chat template (tokenizer_config.json), written out by hand for one user message. */
export function renderedUserTurn(content: string): string {
  return `<|user|>\n${content}</s>\n<|assistant|>\n`;
}

/** The tiny model's end-of-sequence token. */
export const TINY_LLAMA_EOS = 2;

export interface GreedyReference {
  /** The rendered prompt as the model's tokenizer encodes it. */
  promptTokens: number[];
  /** Torch's greedy tokens, up to and including an end token if one comes. */
  tokens: number[];
  /** Those tokens decoded as an answer (special tokens skipped). */
  text: string;
}

/** What an exact greedy run of `model` must answer to `renderedPrompt`, according to torch. */
export async function greedyReference(
  model: TinyLlamaOnnx,
  renderedPrompt: string,
  count: number,
): Promise<GreedyReference> {
  const library = await loadTransformers();
  const tokenizer = await library.AutoTokenizer.from_pretrained(model.folder, { local_files_only: true });
  const promptTokens = tokenizer.encode(renderedPrompt, { add_special_tokens: false });
  const greedy = await torchGreedyTokens(model.sourceFolder, promptTokens, count);
  const end = greedy.indexOf(TINY_LLAMA_EOS);
  const tokens = end >= 0 ? greedy.slice(0, end + 1) : greedy;
  return { promptTokens, tokens, text: tokenizer.decode(tokens, { skip_special_tokens: true }) };
}

async function runTrainer(args: string[]): Promise<string> {
  const { stdout } = await run(pythonExecutable(), ['-m', 'byzerllm_train', ...args], {
    env: pythonEnvironment(),
    timeout: 120_000,
  });
  return stdout;
}

/**
 * A copy of the ONNX folder whose tokenizer spells some token ids differently, e.g. as byte-fallback
 * pieces (`<0xE6>`) or multi-byte pieces (`▁é`): the model still picks the same ids, but its answer
 * decodes to other text — how tests get answers with multi-byte characters split across tokens
 * from a model whose weights steer clear of byte tokens. Ids the prompt uses must keep their
 * pieces (the prompt would encode differently). The caller removes `folder`.
 */
export async function respellTinyLlamaOnnx(
  model: TinyLlamaOnnx,
  pieces: ReadonlyMap<number, string>,
): Promise<TinyLlamaOnnx> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-respelled-'));
  await fs.cp(model.folder, folder, { recursive: true });
  const file = path.join(folder, 'tokenizer.json');
  const tokenizer = z
    .object({ model: z.object({ vocab: z.array(z.tuple([z.string(), z.number()])) }).passthrough() })
    .passthrough()
    .parse(JSON.parse(await fs.readFile(file, 'utf8')));
  for (const [id, piece] of pieces) {
    const entry = tokenizer.model.vocab[id];
    if (!entry) throw new Error(`the tiny vocabulary has no id ${id}`);
    entry[0] = piece;
  }
  await fs.writeFile(file, JSON.stringify(tokenizer));
  return { folder, sourceFolder: model.sourceFolder };
}
