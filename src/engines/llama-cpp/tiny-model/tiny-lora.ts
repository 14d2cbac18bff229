/**
 * A LoRA adapter GGUF for the tiny llama model (tests of `--infer_params lora=…`).
 *
 * llama.cpp reads an adapter as `general.type = adapter`, `adapter.type = lora`,
 * `adapter.lora.alpha`, and per adapted weight `<name>.lora_a` (ne = [n_in, rank]) and
 * `<name>.lora_b` (ne = [rank, n_out]). This one adapts every layer's `attn_v` and `ffn_up` (never a
 * weight writing residual dimension 0, which the tiny model keeps as its bias dimension), with
 * seeded weights large enough to change what the model says.
 */
import { type GgufTensor, writeGguf } from './gguf-writer.js';

export interface TinyLoraOptions {
  /** Must match the base model's. Defaults to the tiny model's 2 layers and n_embd 64. */
  layers?: number;
  embeddingLength?: number;
  rank?: number;
  seed?: number;
}

export function createTinyLoraGguf(options: TinyLoraOptions = {}): Uint8Array {
  const layers = options.layers ?? 2;
  const embedding = options.embeddingLength ?? 64;
  const feedForward = embedding * 2;
  const rank = options.rank ?? 4;
  let state = (options.seed ?? 7) >>> 0;
  const random = () => {
    // xorshift32: deterministic, no dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const values = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  const tensors: GgufTensor[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (const [name, outputs] of [
      ['attn_v', embedding],
      ['ffn_up', feedForward],
    ] as const) {
      tensors.push(
        {
          name: `blk.${layer}.${name}.weight.lora_a`,
          dimensions: [embedding, rank],
          data: values(embedding * rank, 1),
        },
        {
          name: `blk.${layer}.${name}.weight.lora_b`,
          dimensions: [rank, outputs],
          data: values(rank * outputs, 1),
        },
      );
    }
  }
  return writeGguf(
    {
      'general.architecture': 'llama',
      'general.type': 'adapter',
      'general.name': 'tiny-llama-lora',
      'adapter.type': 'lora',
      'adapter.lora.alpha': { type: 'float32', value: rank },
    },
    tensors,
  );
}
