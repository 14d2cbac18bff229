/**
 * The quickstart's tiny llama model in the Hugging Face folder layout, for training tests and demos.
 *
 * The same weights as the tiny GGUF (`createTinyLlamaParts`), written the way Hugging Face stores a
 * llama: config.json, model.safetensors (q/k rows back in "halves" order), a Unigram tokenizer.json
 * with the same SentencePiece pieces and scores, and tokenizer_config.json carrying the chat template.
 * Converting this folder back to GGUF gives the tiny GGUF's tensors.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createTinyLlamaParts, type TinyLlamaOptions } from '../engines/llama-cpp/tiny-model/tiny-llama.js';
import { hfTensorName, permuteHeadRows } from './hf-model.js';
import { serializeSafetensors, type Tensor } from './safetensors.js';
import { hfTokenizerFilesFromGguf } from './tokenizer-files.js';

/** The folder name under `$BYZERLLM_HOME/models`. */
export const TINY_HF_MODEL_NAME = 'tiny-llama-v1-hf';

/** The files of the tiny model's Hugging Face folder, by file name. */
export function createTinyHfModelFiles(options: TinyLlamaOptions = {}): Map<string, Uint8Array> {
  const { metadata, tensors } = createTinyLlamaParts(options);
  const number = (key: string) => metadata[key] as number;
  const heads = number('llama.attention.head_count');
  const hidden = number('llama.embedding_length');
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: number('llama.feed_forward_length'),
    num_hidden_layers: number('llama.block_count'),
    num_attention_heads: heads,
    num_key_value_heads: number('llama.attention.head_count_kv'),
    vocab_size: number('llama.vocab_size'),
    max_position_embeddings: number('llama.context_length'),
    rms_norm_eps: (metadata['llama.attention.layer_norm_rms_epsilon'] as { value: number }).value,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: number('tokenizer.ggml.bos_token_id'),
    eos_token_id: number('tokenizer.ggml.eos_token_id'),
    torch_dtype: 'float32',
  };
  const weights = new Map<string, Tensor>();
  for (const tensor of tensors) {
    const name = hfTensorName(tensor.name);
    if (!name) throw new Error(`tiny model tensor ${tensor.name} has no Hugging Face name`);
    const shape = [...tensor.dimensions].reverse();
    const rows = shape[0]!;
    const columns = shape[1] ?? 1;
    const permuteBy = /\.attn_(q|k)\.weight$/.test(tensor.name)
      ? tensor.name.includes('attn_q')
        ? heads
        : number('llama.attention.head_count_kv')
      : 0;
    const data = permuteBy ? permuteHeadRows(tensor.data, rows, columns, permuteBy, true) : tensor.data;
    weights.set(name, { shape, data });
  }
  const { tokenizerJson, tokenizerConfig } = hfTokenizerFilesFromGguf(metadata);
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  return new Map([
    ['config.json', json(config)],
    ['model.safetensors', serializeSafetensors(weights, { format: 'pt' })],
    ['tokenizer.json', json(tokenizerJson)],
    ['tokenizer_config.json', json(tokenizerConfig)],
  ]);
}

/**
 * Writes the folder `modelsDirectory/tiny-llama-v1-hf` unless it is complete already; the folder
 * appears atomically (written beside it, then renamed) so concurrent callers never see half of it.
 */
export async function ensureTinyHfModel(modelsDirectory: string): Promise<{ path: string; built: boolean }> {
  const target = path.join(modelsDirectory, TINY_HF_MODEL_NAME);
  if (await fs.stat(path.join(target, 'model.safetensors')).catch(() => undefined)) {
    return { path: target, built: false };
  }
  await fs.mkdir(modelsDirectory, { recursive: true });
  const temporary = await fs.mkdtemp(path.join(modelsDirectory, `.${TINY_HF_MODEL_NAME}-`));
  try {
    for (const [name, bytes] of createTinyHfModelFiles())
      await fs.writeFile(path.join(temporary, name), bytes);
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { recursive: true, force: true });
    if (
      (error as NodeJS.ErrnoException).code === 'ENOTEMPTY' ||
      (error as NodeJS.ErrnoException).code === 'EEXIST'
    ) {
      return { path: target, built: false };
    }
    throw error;
  }
  return { path: target, built: true };
}
