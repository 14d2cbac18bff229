/**
 * custom/auto streaming with answers whose characters span several tokens: the tiny llama's ONNX
 * export with a tokenizer that spells some of the ids it answers with as UTF-8 bytes (`水` as three
 * byte tokens, `🦙` as four) and SentencePiece pieces (`▁é`). The model's greedy ids are torch's;
 * the reference text is those ids decoded at once; the stream, decoded a window at a time, must
 * concatenate to it exactly, as must the non-streamed answer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { StreamPart } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { loadTransformers } from '../../../src/engines/transformers/load-library.js';
import { createTransformersEngine } from '../../../src/engines/transformers/transformers-provider.js';
import {
  ensureTinyLlamaOnnx,
  greedyReference,
  renderedUserTurn,
  respellTinyLlamaOnnx,
  TINY_LLAMA_EOS,
  type TinyLlamaOnnx,
} from '../../support/tiny-onnx/tiny-llama-onnx.js';

const ANSWER_TOKENS = 24;
/** New spellings for the answer's first distinct ids, in order: 水 (3 bytes), é, 🦙 (4 bytes), ü. */
const SPELLINGS = ['<0xE6>', '<0xB0>', '<0xB4>', '▁é', '<0xF0>', '<0x9F>', '<0xA6>', '<0x99>', '▁ü'];

describe('transformers engine: streamed multi-byte answers', () => {
  let variant: TinyLlamaOnnx | undefined;
  let engine: EngineInstance;
  let expectedText: string;
  let expectedTokens: number;

  before(async () => {
    const model = await ensureTinyLlamaOnnx();
    const reference = await greedyReference(model, renderedUserTurn('hello'), ANSWER_TOKENS);
    const answerIds = [...new Set(reference.tokens)].filter(
      (id) => id !== TINY_LLAMA_EOS && !reference.promptTokens.includes(id),
    );
    assert.ok(answerIds.length >= SPELLINGS.length, `enough distinct answer ids: ${answerIds.join(',')}`);
    variant = await respellTinyLlamaOnnx(
      model,
      new Map(SPELLINGS.map((piece, index) => [answerIds[index]!, piece])),
    );
    const library = await loadTransformers();
    const tokenizer = await library.AutoTokenizer.from_pretrained(variant.folder, { local_files_only: true });
    assert.deepEqual(
      tokenizer.encode(renderedUserTurn('hello'), { add_special_tokens: false }),
      reference.promptTokens,
      'the prompt encodes as before',
    );
    expectedText = tokenizer.decode(reference.tokens, { skip_special_tokens: true });
    expectedTokens = reference.tokens.length;
    const spec = deploymentSpecSchema.parse({
      name: 'tiny-chat-respelled',
      pretrainedModelType: 'custom/auto',
      inferBackend: 'transformers',
      modelPath: variant.folder,
    });
    engine = await createTransformersEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
  });
  after(async () => {
    await engine?.dispose();
    if (variant) await fs.rm(variant.folder, { recursive: true, force: true });
  });

  const request = { messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: ANSWER_TOKENS };

  test('the answer has characters spelled over several tokens', () => {
    assert.ok(expectedText.includes('水'), expectedText);
    assert.ok(expectedText.includes('🦙'), expectedText);
    assert.ok(expectedText.includes(' é'), expectedText);
  });

  test('the non-streamed answer is the ids decoded at once', async () => {
    const result = await engine.chat!.doGenerate(request);
    assert.equal(result.text, expectedText);
    assert.equal(result.usage.outputTokens, expectedTokens);
  });

  test('streamed deltas concatenate to the same text, never splitting a character', async () => {
    const parts: StreamPart[] = [];
    for await (const part of await engine.chat!.doStream(request)) parts.push(part);
    const deltas = parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []));
    assert.equal(deltas.join(''), expectedText);
    assert.ok(deltas.length > 5, `text leaves as it is generated (${deltas.length} deltas)`);
    for (const delta of deltas) {
      assert.ok(!/[\uD800-\uDBFF]$/.test(delta), `no half of a surrogate pair at the end of ${delta}`);
      assert.ok(!delta.startsWith('\uFFFD') || expectedText.includes(delta), `no broken byte in ${delta}`);
    }
    assert.ok(deltas.some((delta) => delta.includes('🦙')));
    assert.equal(parts.at(-1)?.type, 'finish');
  });

  test('a stop string made of multi-byte characters ends the answer before it', async () => {
    const result = await engine.chat!.doGenerate({ ...request, stop: ['🦙'] });
    assert.equal(result.text, expectedText.slice(0, expectedText.indexOf('🦙')));
    assert.equal(result.finishReason, 'stop');
  });
});
