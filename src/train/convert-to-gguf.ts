/**
 * Conversion of trained models to GGUF, so the llama_cpp engine serves them: a Hugging Face folder
 * (merged or full model) → a model GGUF, and a PEFT LoRA adapter folder → a llama.cpp adapter GGUF
 * (`general.type = adapter`, `<tensor>.lora_a` / `.lora_b`, `adapter.lora.alpha`).
 *
 * Model tensors are written as F32 (exact; the default), F16 or Q8_0 (`gguf-encoding.ts`); adapter
 * tensors always as F32, since adapters are small and llama.cpp adds them to the base in F32.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import {
  type GgufEncodedTensor,
  type GgufTensor,
  type GgufValue,
  writeGguf,
} from '../engines/llama-cpp/tiny-model/gguf-writer.js';
import { encodeGgufTensor, type GgufOutputType, ggufFileType } from './gguf-encoding.js';
import {
  ggufTensorName,
  type HfModelInfo,
  permutedHeads,
  permuteHeadRows,
  readHfModelInfo,
  readHfWeights,
} from './hf-model.js';
import { readSafetensors, type Tensor } from './safetensors.js';
import { ggufTokenizerMetadata } from './tokenizer-files.js';

function toGgufTensor(info: HfModelInfo, ggufName: string, tensor: Tensor): GgufTensor {
  const rows = tensor.shape[0] ?? 1;
  const columns = tensor.shape.length > 1 ? tensor.data.length / rows : 1;
  const heads = permutedHeads(info, ggufName);
  const data = heads ? permuteHeadRows(tensor.data, rows, columns, heads) : tensor.data;
  return { name: ggufName, dimensions: [...tensor.shape].reverse(), data };
}

function modelMetadata(info: HfModelInfo, name: string, outtype: GgufOutputType): Record<string, GgufValue> {
  const config = info.config;
  const prefix = info.architecture;
  return {
    'general.architecture': info.architecture,
    'general.name': name,
    'general.file_type': { type: 'uint32', value: ggufFileType(outtype) },
    'general.alignment': { type: 'uint32', value: 32 },
    [`${prefix}.context_length`]: config.max_position_embeddings,
    [`${prefix}.embedding_length`]: config.hidden_size,
    [`${prefix}.block_count`]: config.num_hidden_layers,
    [`${prefix}.feed_forward_length`]: config.intermediate_size,
    [`${prefix}.attention.head_count`]: info.heads,
    [`${prefix}.attention.head_count_kv`]: info.kvHeads,
    [`${prefix}.rope.dimension_count`]: info.headDimension,
    [`${prefix}.rope.freq_base`]: { type: 'float32', value: config.rope_theta },
    [`${prefix}.attention.layer_norm_rms_epsilon`]: { type: 'float32', value: config.rms_norm_eps },
    [`${prefix}.vocab_size`]: config.vocab_size,
  };
}

/** Writes the model GGUF of a Hugging Face folder to `output` (atomically); returns `output`. */
export async function convertHfToGguf(options: {
  directory: string;
  output: string;
  name?: string;
  /** Only the vocabulary and template (for tokenising data of a model trained from its config). */
  vocabularyOnly?: boolean;
  /** Tensor type of the matrices. Defaults to `f32`. */
  outtype?: GgufOutputType;
}): Promise<string> {
  const outtype = options.outtype ?? 'f32';
  const info = await readHfModelInfo(options.directory);
  const weights = options.vocabularyOnly ? new Map<string, Tensor>() : await readHfWeights(options.directory);
  const tensors: Array<GgufTensor | GgufEncodedTensor> = [];
  for (const [hfName, tensor] of weights) {
    if (hfName === 'lm_head.weight' && info.config.tie_word_embeddings) continue;
    const ggufName = ggufTensorName(hfName);
    if (!ggufName) {
      if (/rotary_emb\.inv_freq$/.test(hfName)) continue;
      throw new InvalidArgumentError(`${options.directory}: tensor ${hfName} has no GGUF counterpart`);
    }
    tensors.push(encodeGgufTensor(toGgufTensor(info, ggufName, tensor), outtype));
  }
  const metadata = {
    ...modelMetadata(info, options.name ?? path.basename(path.resolve(options.directory)), outtype),
    ...(await ggufTokenizerMetadata(info)),
  };
  await writeAtomically(options.output, writeGguf(metadata, tensors));
  return options.output;
}

const adapterConfigSchema = z.looseObject({
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  target_modules: z.array(z.string()).optional(),
});

/**
 * Writes a llama.cpp LoRA adapter GGUF for a PEFT adapter folder trained on `baseDirectory`
 * (whose config decides the architecture and the q/k row order).
 */
export async function convertLoraToGguf(options: {
  adapterDirectory: string;
  baseDirectory: string;
  output: string;
}): Promise<string> {
  const info = await readHfModelInfo(options.baseDirectory);
  const configPath = path.join(options.adapterDirectory, 'adapter_config.json');
  const settings = adapterConfigSchema.parse(JSON.parse(await fs.readFile(configPath, 'utf8')));
  const adapter = await readSafetensors(path.join(options.adapterDirectory, 'adapter_model.safetensors'));
  const tensors: GgufTensor[] = [];
  for (const [name, tensor] of adapter) {
    const match = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(name);
    const ggufName = match ? ggufTensorName(`${match[1]}.weight`) : undefined;
    if (!match || !ggufName)
      throw new InvalidArgumentError(`${options.adapterDirectory}: adapter tensor ${name} is not understood`);
    // B holds the output rows, so it takes the q/k row order of the weight it adapts.
    const converted =
      match[2] === 'B'
        ? toGgufTensor(info, ggufName, tensor)
        : { name: ggufName, dimensions: [...tensor.shape].reverse(), data: tensor.data };
    tensors.push({ ...converted, name: `${ggufName}.lora_${match[2]!.toLowerCase()}` });
  }
  tensors.sort((left, right) => left.name.localeCompare(right.name));
  const metadata: Record<string, GgufValue> = {
    'general.architecture': info.architecture,
    'general.type': 'adapter',
    'general.name': path.basename(path.resolve(options.adapterDirectory)),
    'adapter.type': 'lora',
    'adapter.lora.alpha': { type: 'float32', value: settings.lora_alpha },
  };
  await writeAtomically(options.output, writeGguf(metadata, tensors));
  return options.output;
}

async function writeAtomically(filePath: string, bytes: Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(filePath), { recursive: true });
  const temporary = `${filePath}.${process.pid}.tmp`;
  await fs.writeFile(temporary, bytes);
  await fs.rename(temporary, filePath);
}
