/**
 * Tokenizers between the Hugging Face files (tokenizer.json, tokenizer_config.json) and GGUF
 * metadata (`tokenizer.ggml.*`), so a converted model tokenises in llama.cpp as it was trained.
 *
 * Supported: `Unigram` vocabularies (SentencePiece pieces with scores → GGUF `llama`), byte-level
 * `BPE` (qwen2, llama 3 → GGUF `gpt2` with merges) and SentencePiece-derived `BPE` with
 * `byte_fallback` (llama 2, mistral → GGUF `llama`, scores from the vocabulary order, which is how
 * those vocabularies are ranked). Anything else is refused by name.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { GgufValue } from '../engines/llama-cpp/tiny-model/gguf-writer.js';
import { InvalidArgumentError, UnsupportedError } from '../core/index.js';
import type { HfModelInfo } from './hf-model.js';

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, byte: 6 } as const;

const addedTokenSchema = z.looseObject({
  id: z.number().int().min(0),
  content: z.string(),
  special: z.boolean().default(false),
});
const tokenizerJsonSchema = z.looseObject({
  added_tokens: z.array(addedTokenSchema).default([]),
  pre_tokenizer: z.unknown().optional(),
  decoder: z.unknown().optional(),
  model: z.looseObject({
    type: z.string(),
    vocab: z.unknown(),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])).optional(),
    unk_id: z.number().int().nullable().optional(),
    byte_fallback: z.boolean().optional(),
  }),
});
const specialTokenSchema = z
  .union([z.string(), z.looseObject({ content: z.string() })])
  .nullable()
  .optional();
const tokenizerConfigSchema = z.looseObject({
  bos_token: specialTokenSchema,
  eos_token: specialTokenSchema,
  unk_token: specialTokenSchema,
  pad_token: specialTokenSchema,
  add_bos_token: z.boolean().optional(),
  add_eos_token: z.boolean().optional(),
  chat_template: z
    .union([z.string(), z.array(z.object({ name: z.string(), template: z.string() }))])
    .optional(),
});

function tokenText(value: z.infer<typeof specialTokenSchema>): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.content;
}

async function readJson(filePath: string): Promise<unknown> {
  const text = await fs.readFile(filePath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${filePath} is not valid JSON`);
  }
}

/** The `tokenizer.*` GGUF metadata of a Hugging Face folder. */
export async function ggufTokenizerMetadata(info: HfModelInfo): Promise<Record<string, GgufValue>> {
  const tokenizerPath = path.join(info.directory, 'tokenizer.json');
  const rawTokenizer = await readJson(tokenizerPath);
  if (rawTokenizer === undefined) {
    throw new InvalidArgumentError(
      `${info.directory} has no tokenizer.json; it is needed to tokenise data and to convert to GGUF`,
    );
  }
  const tokenizer = tokenizerJsonSchema.parse(rawTokenizer);
  const config = tokenizerConfigSchema.parse(
    (await readJson(path.join(info.directory, 'tokenizer_config.json'))) ?? {},
  );
  const vocabularySize = info.config.vocab_size;
  const tokens: string[] = Array.from({ length: vocabularySize }, (_, index) => `[PAD${index}]`);
  const scores = new Array<number>(vocabularySize).fill(0);
  const types = new Array<number>(vocabularySize).fill(TOKEN_TYPE.userDefined);
  const place = (id: number, token: string, score: number, type: number) => {
    if (id >= vocabularySize)
      throw new InvalidArgumentError(
        `${tokenizerPath}: token id ${id} is beyond vocab_size ${vocabularySize}`,
      );
    tokens[id] = token;
    scores[id] = score;
    types[id] = type;
  };
  const model = tokenizer.model;
  const metadata: Record<string, GgufValue> = {};
  if (model.type === 'Unigram') {
    const vocabulary = z.array(z.tuple([z.string(), z.number()])).parse(model.vocab);
    vocabulary.forEach(([piece, score], id) => {
      place(id, piece, score, /^<0x[0-9A-F]{2}>$/.test(piece) ? TOKEN_TYPE.byte : TOKEN_TYPE.normal);
    });
    if (model.unk_id !== undefined && model.unk_id !== null) types[model.unk_id] = TOKEN_TYPE.unknown;
    metadata['tokenizer.ggml.model'] = 'llama';
  } else if (model.type === 'BPE') {
    const vocabulary = z.record(z.string(), z.number().int().min(0)).parse(model.vocab);
    const byteLevel = JSON.stringify(tokenizer.pre_tokenizer ?? '').includes('ByteLevel');
    for (const [piece, id] of Object.entries(vocabulary)) {
      const isByte = !byteLevel && /^<0x[0-9A-F]{2}>$/.test(piece);
      place(id, piece, byteLevel ? 0 : -id, isByte ? TOKEN_TYPE.byte : TOKEN_TYPE.normal);
    }
    if (byteLevel) {
      metadata['tokenizer.ggml.model'] = 'gpt2';
      metadata['tokenizer.ggml.pre'] = info.architecture === 'qwen2' ? 'qwen2' : 'llama-bpe';
      metadata['tokenizer.ggml.merges'] = {
        type: 'array-string',
        values: (model.merges ?? []).map((merge) => (typeof merge === 'string' ? merge : merge.join(' '))),
      };
    } else if (model.byte_fallback) {
      metadata['tokenizer.ggml.model'] = 'llama';
    } else {
      throw new UnsupportedError(
        `${tokenizerPath}: a BPE tokenizer without byte-level pre-tokenizer or byte_fallback is not supported`,
      );
    }
  } else {
    throw new UnsupportedError(
      `${tokenizerPath}: tokenizer model ${model.type} is not supported; allowed: Unigram, BPE`,
    );
  }
  for (const added of tokenizer.added_tokens) {
    place(added.id, added.content, 0, added.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
  }
  if (model.type === 'Unigram' && model.unk_id !== undefined && model.unk_id !== null)
    types[model.unk_id] = TOKEN_TYPE.unknown;
  metadata['tokenizer.ggml.tokens'] = { type: 'array-string', values: tokens };
  if (metadata['tokenizer.ggml.model'] === 'llama')
    metadata['tokenizer.ggml.scores'] = { type: 'array-float32', values: scores };
  metadata['tokenizer.ggml.token_type'] = { type: 'array-int32', values: types };
  const idOf = (text: string | undefined) => (text === undefined ? -1 : tokens.indexOf(text));
  for (const [key, value] of [
    ['bos', config.bos_token],
    ['eos', config.eos_token],
    ['unknown', config.unk_token],
    ['padding', config.pad_token],
  ] as const) {
    const id = idOf(tokenText(value));
    if (id >= 0) metadata[`tokenizer.ggml.${key}_token_id`] = id;
  }
  const isLlama = metadata['tokenizer.ggml.model'] === 'llama';
  metadata['tokenizer.ggml.add_bos_token'] = config.add_bos_token ?? isLlama;
  metadata['tokenizer.ggml.add_eos_token'] = config.add_eos_token ?? false;
  const template = Array.isArray(config.chat_template)
    ? (config.chat_template.find((entry) => entry.name === 'default') ?? config.chat_template[0])?.template
    : config.chat_template;
  if (template) metadata['tokenizer.chat_template'] = template;
  return metadata;
}

/** The Hugging Face tokenizer files of a GGUF `llama` (SentencePiece) vocabulary: a Unigram tokenizer.json. */
export function hfTokenizerFilesFromGguf(metadata: Record<string, GgufValue>): {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
} {
  const values = <T>(key: string): T[] => (metadata[key] as unknown as { values: T[] }).values;
  const tokens = values<string>('tokenizer.ggml.tokens');
  const scores = values<number>('tokenizer.ggml.scores');
  const types = values<number>('tokenizer.ggml.token_type');
  const id = (key: string) => metadata[key] as number;
  const added = tokens
    .map((content, index) => ({ content, index }))
    .filter(({ index }) => types[index] === TOKEN_TYPE.control || types[index] === TOKEN_TYPE.unknown)
    .map(({ content, index }) => ({
      id: index,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'Unigram',
      unk_id: id('tokenizer.ggml.unknown_token_id'),
      vocab: tokens.map((token, index) => [token, scores[index] ?? 0]),
      byte_fallback: true,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'LlamaTokenizerFast',
    bos_token: tokens[id('tokenizer.ggml.bos_token_id')],
    eos_token: tokens[id('tokenizer.ggml.eos_token_id')],
    unk_token: tokens[id('tokenizer.ggml.unknown_token_id')],
    add_bos_token: metadata['tokenizer.ggml.add_bos_token'],
    add_eos_token: metadata['tokenizer.ggml.add_eos_token'],
    chat_template: metadata['tokenizer.chat_template'],
    model_max_length: metadata['llama.context_length'],
  };
  return { tokenizerJson, tokenizerConfig };
}
