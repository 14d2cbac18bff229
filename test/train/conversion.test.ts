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
  ensureTinyHfModel,
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
