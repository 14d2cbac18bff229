/**
 * Tiny llama-architecture GGUF models built by the project itself (tests, the quickstart, benchmarks).
 *
 * Nothing can be downloaded here, so the quickstart and the llama_cpp tests need a model they can
 * make in milliseconds. This one is a real llama graph (2 layers, n_embd 64, 4 heads, SwiGLU FFN,
 * RoPE) with a SentencePiece ("llama") vocabulary of ~420 pieces and a chat template in its metadata,
 * filled with seeded random weights: the same options always give the same bytes.
 *
 * Random weights would often sample byte tokens that decode to invalid UTF-8. To keep samples
 * printable, residual dimension 0 is a constant (every token embedding has 1 there and no layer
 * writes to it), so `output.weight[token][0]` acts as a per-token bias: strongly negative for byte
 * and control tokens, mildly positive for whole words.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type GgufTensor, type GgufValue, writeGguf } from './gguf-writer.js';

export interface TinyLlamaOptions {
  /** Seed of the weights. Defaults to 42. */
  seed?: number;
  /** `general.name`. Defaults to `tiny-llama`. */
  name?: string;
  /** Defaults to 2. */
  layers?: number;
  /** Defaults to 64. */
  embeddingLength?: number;
  /** `llama.context_length`. Defaults to 2048. */
  contextLength?: number;
}

/** The chat template stored in `tokenizer.chat_template` (Jinja, as Hugging Face writes them). */
export const TINY_LLAMA_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

const WORDS = (
  'the of and to in is it you that he was for on are with as I his they be at one have this from ' +
  'or had by hot word but what some we can out other were all there when up use your how said an ' +
  'each she which do their time if will way about many then them write would like so these her ' +
  'long make thing see him two has look more day could go come did number sound no most people my ' +
  'over know water than call first who may down side been now find model llama hello answer byzer'
).split(' ');
const CHARACTERS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...'.,!?\'":;-(){}[]<>|/\\_=+*#@&%$~`^',
  '▁',
];

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  /** The per-token output bias (see the file comment). */
  biases: number[];
}

function buildVocabulary(): Vocabulary {
  const vocabulary: Vocabulary = { tokens: [], scores: [], types: [], biases: [] };
  const add = (token: string, score: number, type: number, bias: number) => {
    vocabulary.tokens.push(token);
    vocabulary.scores.push(score);
    vocabulary.types.push(type);
    vocabulary.biases.push(bias);
  };
  add('<unk>', 0, TOKEN_TYPE.unknown, -8);
  add('<s>', 0, TOKEN_TYPE.control, -8);
  // End of sequence stays possible so answers sometimes end on their own.
  add('</s>', 0, TOKEN_TYPE.control, -0.6);
  for (let byte = 0; byte < 256; byte++) {
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, 0, TOKEN_TYPE.byte, -8);
  }
  // SentencePiece merges by score: whole words outrank single characters.
  for (const [index, word] of WORDS.entries()) add(`▁${word}`, -index, TOKEN_TYPE.normal, 0.6);
  for (const [index, character] of CHARACTERS.entries()) add(character, -1000 - index, TOKEN_TYPE.normal, 0);
  return vocabulary;
}

/** The bytes of a tiny llama GGUF model; deterministic for given options. */
export function createTinyLlamaGguf(options: TinyLlamaOptions = {}): Uint8Array {
  const parts = createTinyLlamaParts(options);
  return writeGguf(parts.metadata, parts.tensors);
}

/**
 * The tiny model's GGUF metadata and tensors before serialisation (the training layer writes the
 * same model in the Hugging Face folder layout from them).
 */
export function createTinyLlamaParts(options: TinyLlamaOptions = {}): {
  metadata: Record<string, GgufValue>;
  tensors: GgufTensor[];
} {
  const seed = options.seed ?? 42;
  const layers = options.layers ?? 2;
  const embedding = options.embeddingLength ?? 64;
  const feedForward = embedding * 2;
  const heads = 4;
  const vocabulary = buildVocabulary();
  const vocabularySize = vocabulary.tokens.length;
  const random = mulberry32(seed);
  const uniform = (scale: number) => (random() * 2 - 1) * scale;

  const matrix = (columns: number, rows: number, scale: number, zeroRow?: number) => {
    const data = new Float32Array(columns * rows);
    for (let index = 0; index < data.length; index++) data[index] = uniform(scale);
    if (zeroRow !== undefined) data.fill(0, zeroRow * columns, (zeroRow + 1) * columns);
    return data;
  };
  const ones = (size: number) => new Float32Array(size).fill(1);

  const tokenEmbedding = matrix(embedding, vocabularySize, 0.5);
  const output = matrix(embedding, vocabularySize, 0.35);
  for (let token = 0; token < vocabularySize; token++) {
    tokenEmbedding[token * embedding] = 1;
    output[token * embedding] = vocabulary.biases[token]!;
  }
  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', dimensions: [embedding, vocabularySize], data: tokenEmbedding },
    { name: 'output_norm.weight', dimensions: [embedding], data: ones(embedding) },
    { name: 'output.weight', dimensions: [embedding, vocabularySize], data: output },
  ];
  const attentionScale = 1 / Math.sqrt(embedding);
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `blk.${layer}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dimensions: [embedding], data: ones(embedding) },
      {
        name: `${prefix}.attn_q.weight`,
        dimensions: [embedding, embedding],
        data: matrix(embedding, embedding, attentionScale),
      },
      {
        name: `${prefix}.attn_k.weight`,
        dimensions: [embedding, embedding],
        data: matrix(embedding, embedding, attentionScale),
      },
      {
        name: `${prefix}.attn_v.weight`,
        dimensions: [embedding, embedding],
        data: matrix(embedding, embedding, attentionScale),
      },
      // Row 0 (output dimension 0) stays zero: the constant bias dimension is never written.
      {
        name: `${prefix}.attn_output.weight`,
        dimensions: [embedding, embedding],
        data: matrix(embedding, embedding, attentionScale, 0),
      },
      { name: `${prefix}.ffn_norm.weight`, dimensions: [embedding], data: ones(embedding) },
      {
        name: `${prefix}.ffn_gate.weight`,
        dimensions: [embedding, feedForward],
        data: matrix(embedding, feedForward, attentionScale),
      },
      {
        name: `${prefix}.ffn_up.weight`,
        dimensions: [embedding, feedForward],
        data: matrix(embedding, feedForward, attentionScale),
      },
      {
        name: `${prefix}.ffn_down.weight`,
        dimensions: [feedForward, embedding],
        data: matrix(feedForward, embedding, 1 / Math.sqrt(feedForward), 0),
      },
    );
  }
  const metadata: Record<string, GgufValue> = {
    'general.architecture': 'llama',
    'general.name': options.name ?? 'tiny-llama',
    'general.file_type': { type: 'uint32', value: 0 },
    'general.alignment': { type: 'uint32', value: 32 },
    'llama.context_length': options.contextLength ?? 2048,
    'llama.embedding_length': embedding,
    'llama.block_count': layers,
    'llama.feed_forward_length': feedForward,
    'llama.attention.head_count': heads,
    'llama.attention.head_count_kv': heads,
    'llama.rope.dimension_count': embedding / heads,
    'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-5 },
    'llama.vocab_size': vocabularySize,
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': { type: 'array-string', values: vocabulary.tokens },
    'tokenizer.ggml.scores': { type: 'array-float32', values: vocabulary.scores },
    'tokenizer.ggml.token_type': { type: 'array-int32', values: vocabulary.types },
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': false,
    'tokenizer.chat_template': TINY_LLAMA_CHAT_TEMPLATE,
  };
  return { metadata, tensors };
}

/** The file name the quickstart and tests use under `$BYZERLLM_HOME/models`. */
export const TINY_LLAMA_FILE_NAME = 'tiny-llama-v1.gguf';

/**
 * Writes the tiny model to `directory/tiny-llama-v1.gguf` unless it is already there with the same
 * bytes' size; returns its path and whether it was built. The write is atomic (temp file + rename)
 * so concurrent callers never load a half-written file.
 */
export async function ensureTinyLlamaModel(
  directory: string,
  options: TinyLlamaOptions = {},
): Promise<{ path: string; built: boolean }> {
  const bytes = createTinyLlamaGguf(options);
  const target = path.join(
    directory,
    options.seed === undefined ? TINY_LLAMA_FILE_NAME : `tiny-llama-v1-seed${options.seed}.gguf`,
  );
  const existing = await fs.stat(target).catch(() => undefined);
  if (existing?.size === bytes.length) return { path: target, built: false };
  await fs.mkdir(directory, { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  await fs.writeFile(temporary, bytes);
  await fs.rename(temporary, target);
  return { path: target, built: true };
}

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same weights everywhere. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
