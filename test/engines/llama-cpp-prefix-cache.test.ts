/**
 * The llama_cpp engine reuses a sequence's KV cache for a shared prompt prefix: `SequencePool` hands
 * a request the free sequence that served the most similar prompt, keeps its tokens, and
 * node-llama-cpp evaluates only what follows the common prefix. Runs on the generated tiny GGUF.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  type ChatWrapper,
  getLlama,
  type LlamaContext,
  LlamaChat,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
} from 'node-llama-cpp';
import { type ChatMessage, deploymentSpecSchema, type EngineInstance } from '../../src/core/index.js';
import { resolveEngine } from '../../src/engines/index.js';
import { promptKey, SequencePool } from '../../src/engines/llama-cpp/sequence-pool.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let modelPath: string;
let model: LlamaModel;
let context: LlamaContext;
let wrapper: ChatWrapper;

const system = 'You are a careful assistant who answers from the manual. '.repeat(12);
const conversation = (question: string): ChatMessage[] => [
  { role: 'system', content: system },
  { role: 'user', content: question },
];

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-prefix-'));
  modelPath = (await ensureTinyLlamaModel(directory)).path;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath });
  context = await model.createContext({ sequences: 2, contextSize: 2048 });
  wrapper = resolveChatWrapper(model);
});

after(async () => {
  await context?.dispose();
  await model?.dispose();
  await fs.rm(directory, { recursive: true, force: true });
});

/** Runs one request on the sequence the pool picks; answers how many prompt tokens it evaluated. */
async function evaluate(pool: SequencePool, messages: ChatMessage[]) {
  const sequence = await pool.acquire(promptKey(messages));
  const before = sequence.tokenMeter.getState().usedInputTokens;
  const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false, chatWrapper: wrapper });
  try {
    await chat.generateResponse(
      messages.map((message) =>
        message.role === 'system'
          ? { type: 'system' as const, text: message.content }
          : { type: 'user' as const, text: String(message.content) },
      ),
      { maxTokens: 4, seed: 1 },
    );
  } finally {
    chat.dispose({ disposeSequence: false });
    pool.release(sequence);
  }
  return { sequence, evaluated: sequence.tokenMeter.getState().usedInputTokens - before };
}

test('a prompt sharing a long prefix takes the sequence holding it and evaluates only the rest', async () => {
  const pool = new SequencePool(context);
  assert.equal(pool.size, 2);
  const other = await evaluate(pool, [{ role: 'user', content: 'an unrelated prompt '.repeat(10) }]);
  const first = await evaluate(pool, conversation('where is the power switch?'));
  assert.notEqual(first.sequence, other.sequence, 'a fresh sequence, not the one holding another prompt');
  const second = await evaluate(pool, conversation('how do I reset it?'));
  assert.equal(second.sequence, first.sequence);
  assert.ok(first.evaluated > 300, `the first prompt is evaluated in full (${first.evaluated} tokens)`);
  assert.ok(
    second.evaluated * 10 < first.evaluated,
    `the second evaluates only its own question (${second.evaluated} of ${first.evaluated} tokens)`,
  );
});

test('the engine reports the whole prompt as input tokens whether or not its prefix was cached', async () => {
  const spec = deploymentSpecSchema.parse({
    name: 'tiny',
    pretrainedModelType: 'custom/auto',
    inferBackend: 'llama_cpp',
    modelPath,
    workerConcurrency: 1,
  });
  const instance: EngineInstance = await resolveEngine(spec)({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: () => {},
  });
  try {
    const messages = conversation('where is the power switch?');
    const cold = await instance.chat!.doGenerate({ messages, maxTokens: 4, seed: 1 });
    const warm = await instance.chat!.doGenerate({ messages, maxTokens: 4, seed: 1 });
    const longer = await instance.chat!.doGenerate({
      messages: [
        ...messages,
        { role: 'assistant', content: cold.text },
        { role: 'user', content: 'and then?' },
      ],
      maxTokens: 4,
      seed: 1,
    });
    assert.ok(cold.usage.inputTokens > 300);
    assert.equal(warm.usage.inputTokens, cold.usage.inputTokens);
    assert.equal(warm.text, cold.text);
    assert.ok(longer.usage.inputTokens > cold.usage.inputTokens);
  } finally {
    await instance.dispose();
  }
});
