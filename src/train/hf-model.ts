/**
 * The Hugging Face model folder (config.json, model.safetensors, tokenizer files) for the llama-family
 * architectures byzerllm trains and converts: `llama`, `mistral` and `qwen2`.
 *
 * Also the one mapping between Hugging Face tensor names and GGUF ones, and the row permutation of
 * the q/k projections: Hugging Face rotates "halves" of each head, llama.cpp's llama graph rotates
 * adjacent pairs, so llama-arch GGUF files store q/k rows interleaved (what llama.cpp's own converter
 * does). qwen2 uses the "halves" convention in llama.cpp too and is stored as is.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError, UnsupportedError } from '../core/index.js';
import { readSafetensors, type Tensor } from './safetensors.js';

/** Hugging Face class name → GGUF `general.architecture`. */
export const SUPPORTED_ARCHITECTURES = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
} as const;
export type GgufArchitecture = (typeof SUPPORTED_ARCHITECTURES)[keyof typeof SUPPORTED_ARCHITECTURES];

export const hfConfigSchema = z.looseObject({
  architectures: z.array(z.string()).min(1),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().optional(),
  vocab_size: z.number().int().positive(),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  max_position_embeddings: z.number().int().positive().default(2048),
  tie_word_embeddings: z.boolean().default(false),
  attention_bias: z.boolean().optional(),
  rope_scaling: z.unknown().optional(),
});
export type HfConfig = z.infer<typeof hfConfigSchema>;

export interface HfModelInfo {
  directory: string;
  config: HfConfig;
  /** The Hugging Face class, e.g. `LlamaForCausalLM`. */
  className: keyof typeof SUPPORTED_ARCHITECTURES;
  architecture: GgufArchitecture;
  heads: number;
  kvHeads: number;
  headDimension: number;
}

/**
 * Reads and checks `config.json`; throws a one-line error naming an unsupported architecture or a
 * missing folder before any work starts.
 */
export async function readHfModelInfo(directory: string): Promise<HfModelInfo> {
  const configPath = path.join(directory, 'config.json');
  const text = await fs.readFile(configPath, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new InvalidArgumentError(
      `--model_path ${directory} has no config.json; a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) is expected`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${configPath} is not valid JSON`);
  }
  const architectures = (raw as { architectures?: unknown }).architectures;
  const className = Array.isArray(architectures)
    ? architectures.find(
        (name): name is keyof typeof SUPPORTED_ARCHITECTURES => name in SUPPORTED_ARCHITECTURES,
      )
    : undefined;
  if (!className) {
    throw new UnsupportedError(
      `model architecture ${JSON.stringify(architectures ?? (raw as { model_type?: unknown }).model_type)} in ${configPath} is not supported for training; allowed: ${Object.keys(SUPPORTED_ARCHITECTURES).join(', ')}`,
    );
  }
  const parsed = hfConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`${configPath}: field ${issue.path.join('.')}: ${issue.message}`);
  }
  const config = parsed.data;
  const scaling = config.rope_scaling as { type?: string; rope_type?: string } | null | undefined;
  if (scaling && (scaling.type ?? scaling.rope_type ?? 'default') !== 'default') {
    throw new UnsupportedError(
      `${configPath}: rope_scaling ${JSON.stringify(scaling)} is not supported; allowed: none`,
    );
  }
  const heads = config.num_attention_heads;
  return {
    directory,
    config,
    className,
    architecture: SUPPORTED_ARCHITECTURES[className],
    heads,
    kvHeads: config.num_key_value_heads ?? heads,
    headDimension: config.head_dim ?? config.hidden_size / heads,
  };
}

/** Every tensor of the folder (`model.safetensors`, or the shards of its index). */
export async function readHfWeights(directory: string): Promise<Map<string, Tensor>> {
  const single = path.join(directory, 'model.safetensors');
  if (await exists(single)) return readSafetensors(single);
  const indexPath = path.join(directory, 'model.safetensors.index.json');
  if (!(await exists(indexPath))) {
    throw new InvalidArgumentError(
      `${directory} has no model.safetensors; only safetensors weights are read`,
    );
  }
  const index = z
    .object({ weight_map: z.record(z.string(), z.string()) })
    .parse(JSON.parse(await fs.readFile(indexPath, 'utf8')));
  const tensors = new Map<string, Tensor>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    if (shard.includes('/') || shard.includes('\\'))
      throw new InvalidArgumentError(`${indexPath}: bad shard name ${shard}`);
    for (const [name, tensor] of await readSafetensors(path.join(directory, shard)))
      tensors.set(name, tensor);
  }
  return tensors;
}

const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};
const TOP_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** The GGUF name of a Hugging Face tensor (module path, e.g. `model.layers.0.self_attn.q_proj.weight`). */
export function ggufTensorName(hfName: string): string | undefined {
  const top = TOP_NAMES[hfName];
  if (top) return top;
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const suffix = match ? LAYER_NAMES[match[2]!] : undefined;
  return match && suffix ? `blk.${match[1]}.${suffix}` : undefined;
}

/** The Hugging Face name of a GGUF tensor (inverse of `ggufTensorName`). */
export function hfTensorName(ggufName: string): string | undefined {
  for (const [hf, gguf] of Object.entries(TOP_NAMES)) if (gguf === ggufName) return hf;
  const match = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (!match) return undefined;
  for (const [hf, gguf] of Object.entries(LAYER_NAMES))
    if (gguf === match[2]) return `model.layers.${match[1]}.${hf}`;
  return undefined;
}

/**
 * How many heads' rows to interleave for a llama-arch GGUF: q rows by attention heads, k rows by kv
 * heads; 0 = store as is (v, o, qwen2, everything else). Applies to weights and to LoRA B matrices.
 */
export function permutedHeads(info: HfModelInfo, ggufName: string): number {
  if (info.architecture !== 'llama') return 0;
  if (/\.attn_q\.(weight|bias)/.test(ggufName)) return info.heads;
  if (/\.attn_k\.(weight|bias)/.test(ggufName)) return info.kvHeads;
  return 0;
}

/**
 * Reorders the rows of a [rows, columns] matrix per head: Hugging Face order (halves) → GGUF order
 * (pairs), or back with `inverse`.
 */
export function permuteHeadRows(
  data: Float32Array,
  rows: number,
  columns: number,
  heads: number,
  inverse = false,
): Float32Array {
  const headRows = rows / heads;
  const half = headRows / 2;
  const result = new Float32Array(data.length);
  for (let head = 0; head < heads; head++) {
    for (let pair = 0; pair < half; pair++) {
      for (let side = 0; side < 2; side++) {
        const halves = head * headRows + side * half + pair;
        const pairs = head * headRows + pair * 2 + side;
        const [from, to] = inverse ? [pairs, halves] : [halves, pairs];
        result.set(data.subarray(from * columns, (from + 1) * columns), to * columns);
      }
    }
  }
  return result;
}

async function exists(filePath: string): Promise<boolean> {
  return (await fs.stat(filePath).catch(() => undefined))?.isFile() ?? false;
}
