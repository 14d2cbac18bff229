/**
 * The tiny model in the Hugging Face layout and the conversions back to GGUF, without PyTorch:
 * what llama.cpp computes from the converted file must equal what it computes from the original.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import {
  convertHfToGguf,
  encodeFloat16,
  encodeQ8_0,
  ensureTinyHfModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  parseSafetensors,
  permuteHeadRows,
  readHfModelInfo,
  serializeSafetensors,
  TINY_HF_MODEL_NAME,
} from '../../src/train/index.js';

let directory: string;
before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-conversion-'));
});
after(async () => {
  await fs.rm(directory, { recursive: true, force: true });
});

test('safetensors written by byzerllm read back the same (shape, values, 8-byte aligned header)', () => {
  const tensors = new Map([
    ['b.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
    ['a.bias', { shape: [3], data: Float32Array.from([-1, 0, 1e-7]) }],
  ]);
  const bytes = serializeSafetensors(tensors);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const read = parseSafetensors(bytes, 'memory');
  assert.deepEqual([...read.keys()].sort(), ['a.bias', 'b.weight']);
  assert.deepEqual(read.get('b.weight'), tensors.get('b.weight'));
  assert.deepEqual(read.get('a.bias'), tensors.get('a.bias'));
  assert.throws(
    () => parseSafetensors(bytes.subarray(0, 20), 'cut.safetensors'),
    /cut\.safetensors is not a valid safetensors file/,
  );
});

test("the q/k head permutation and its inverse are each other's undoing, and interleave halves", () => {
  const rows = 8;
  const data = Float32Array.from({ length: rows * 2 }, (_, index) => index);
  const permuted = permuteHeadRows(data, rows, 2, 2);
  // Head 0 has rows 0-3: halves [0,1] and [2,3] become pairs 0,2,1,3.
  assert.deepEqual([...permuted.subarray(0, 8)], [0, 1, 4, 5, 2, 3, 6, 7]);
  assert.deepEqual(permuteHeadRows(permuted, rows, 2, 2, true), data);
});

test('the tiny Hugging Face folder converts to a GGUF that llama.cpp evaluates exactly like the original', async () => {
  const models = path.join(directory, 'models');
  const original = await ensureTinyLlamaModel(models);
  const folder = await ensureTinyHfModel(models);
  assert.equal(folder.path, path.join(models, TINY_HF_MODEL_NAME));
  assert.equal((await ensureTinyHfModel(models)).built, false);
  const info = await readHfModelInfo(folder.path);
  assert.equal(info.architecture, 'llama');
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    assert.ok((await fs.stat(path.join(folder.path, file))).size > 0, file);
  }
  const converted = await convertHfToGguf({
    directory: folder.path,
    output: path.join(directory, 'converted.gguf'),
  });

  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const prompt = 'Hello byzer, what is the answer?';
  const logitsOf = async (modelPath: string) => {
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      const tokens = model.tokenize(prompt);
      const results = await context
        .getSequence()
        .controlledEvaluate(
          tokens.map((token, index) =>
            index === tokens.length - 1 ? [token, { generateNext: { logits: true } }] : token,
          ),
        );
      return {
        tokens: [...tokens],
        template: model.fileInfo.metadata.tokenizer?.chat_template,
        logits: results.at(-1)!.next!.logits!,
      };
    } finally {
      await context.dispose();
      await model.dispose();
    }
  };
  const expected = await logitsOf(original.path);
  const actual = await logitsOf(converted);
  assert.deepEqual(actual.tokens, expected.tokens, 'the converted vocabulary tokenises the same');
  assert.equal(actual.template, expected.template, 'the chat template travels through tokenizer_config.json');
  assert.equal(actual.logits.size, expected.logits.size);
  for (const [token, logit] of expected.logits)
    assert.equal(actual.logits.get(token), logit, `logit of token ${token}`);
});

test('an architecture outside llama, mistral and qwen2 is refused by name', async () => {
  const folder = path.join(directory, 'gpt2');
  await fs.mkdir(folder);
  await fs.writeFile(
    path.join(folder, 'config.json'),
    JSON.stringify({ architectures: ['GPT2LMHeadModel'] }),
  );
  await assert.rejects(readHfModelInfo(folder), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'unsupported');
    assert.match(
      error.message,
      /GPT2LMHeadModel.*not supported.*LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM/,
    );
    return true;
  });
});

test('F16 encoding rounds to nearest even, saturates to infinity and keeps subnormals', () => {
  assert.equal(float32ToFloat16Bits(1), 0x3c00);
  assert.equal(float32ToFloat16Bits(-2), 0xc000);
  assert.equal(float32ToFloat16Bits(65504), 0x7bff);
  assert.equal(float32ToFloat16Bits(65520), 0x7c00, 'halfway above the largest half rounds to infinity');
  assert.equal(float32ToFloat16Bits(0.1), 0x2e66);
  assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001, 'the smallest subnormal');
  assert.equal(float32ToFloat16Bits(2 ** -26), 0x0000, 'a quarter of it rounds to zero');
  // 1 + 2^-11 lies halfway between 1 and the next half; even mantissa (1) wins, 1 + 3·2^-11 goes up.
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN))));
  const values = Float32Array.from([0.5, -3.25, 1e-3]);
  const view = new DataView(encodeFloat16(values).buffer);
  for (const [index, value] of values.entries())
    assert.ok(
      Math.abs(float16BitsToFloat32(view.getUint16(index * 2, true)) - value) <= Math.abs(value) / 1024,
    );
});

test("Q8_0 blocks hold an f16 scale of max|x|/127 and each value's rounded multiple of it", () => {
  const values = Float32Array.from({ length: 64 }, (_, index) => (index < 32 ? (index - 16) / 8 : 0));
  const bytes = encodeQ8_0(values);
  assert.equal(bytes.length, 2 * 34);
  const view = new DataView(bytes.buffer);
  const scale = float16BitsToFloat32(view.getUint16(0, true));
  assert.ok(Math.abs(scale - 2 / 127) < 1e-5, `scale ${scale}`);
  assert.equal(view.getInt8(2), -127, 'the largest magnitude maps to ±127');
  assert.equal(view.getInt8(2 + 16), 0);
  for (let index = 0; index < 32; index++)
    assert.ok(
      Math.abs(view.getInt8(2 + index) * scale - values[index]!) <= scale / 2 + 1e-3,
      `value ${index}`,
    );
  assert.equal(view.getUint16(34, true), 0, 'an all-zero block has scale 0');
  assert.throws(() => encodeQ8_0(new Float32Array(33)), /multiple of 32/);
});
