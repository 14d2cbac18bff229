/**
 * The llama_cpp engine's plain generation path (plain-generation.ts) against `LlamaChat`, on the
 * generated tiny GGUF: the same request gives the same text, finish reason and usage on both, and
 * stop strings, max_tokens and abort behave on the plain path as the engine promises. Requests that
 * need `LlamaChat` (grammar, tools, assistant prefix, long generation) still go through it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getLlama, type Llama, type LlamaContext, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import { type ByzerLLMError, type ChatRequest, collectStream } from '../../src/core/index.js';
import { resolveModelChatWrapper } from '../../src/engines/llama-cpp/chat-wrapper.js';
import { toChatHistory } from '../../src/engines/llama-cpp/convert-messages.js';
import { LlamaCppChatModel, plainGenerationCount } from '../../src/engines/llama-cpp/llama-cpp-chat-model.js';
import {
  generatePlainText,
  preparePlainPrompt,
  samplingOf,
} from '../../src/engines/llama-cpp/plain-generation.js';
import { SequencePool } from '../../src/engines/llama-cpp/sequence-pool.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let llama: Llama;
let model: LlamaModel;
/** One context per template: a `SequencePool` takes every sequence of its context. */
const contexts: LlamaContext[] = [];
/** Chat models over one loaded GGUF, keyed by template, with the plain path on and off, and their pool. */
const models = new Map<
  string,
  {
    plain: LlamaCppChatModel;
    chat: LlamaCppChatModel;
    sequences: SequencePool;
    chatWrapper: ReturnType<typeof resolveModelChatWrapper>;
  }
>();

async function modelsFor(template: string) {
  let pair = models.get(template);
  if (!pair) {
    const context = await model.createContext({ sequences: 1, contextSize: 2048, threads: 1 });
    contexts.push(context);
    const sequences = new SequencePool(context);
    const chatWrapper = resolveModelChatWrapper(template, model);
    const config = {
      modelId: 'tiny',
      llama,
      sequences,
      chatWrapper,
      defaultMaxTokens: 48,
      streamIntervalMs: 0,
    };
    pair = {
      plain: new LlamaCppChatModel(config),
      chat: new LlamaCppChatModel({ ...config, plainGeneration: false }),
      sequences,
      chatWrapper,
    };
    models.set(template, pair);
  }
  return pair;
}

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-llama-plain-'));
  const modelPath = (await ensureTinyLlamaModel(directory)).path;
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath, gpuLayers: 0 });
});

after(async () => {
  for (const context of contexts) await context.dispose();
  await model.dispose();
  await fs.rm(directory, { recursive: true, force: true });
});

const user = (content: string): ChatRequest['messages'] => [{ role: 'user', content }];

/** Answers `request` on both paths, whole and streamed, and checks that the plain path was taken. */
async function both(request: ChatRequest, template = 'auto') {
  const { plain, chat } = await modelsFor(template);
  const before = plainGenerationCount();
  const plainResult = await plain.doGenerate(request);
  const plainStream = await collectStream(await plain.doStream(request));
  assert.equal(plainGenerationCount(), before + 2, 'the plain path answered');
  const chatResult = await chat.doGenerate(request);
  assert.equal(plainGenerationCount(), before + 2, 'plainGeneration: false goes through LlamaChat');
  return { plainResult, plainStream, chatResult };
}

describe('llama_cpp plain generation', () => {
  test('greedy text, finish reason and usage are those of LlamaChat, whole and streamed', async () => {
    const requests: ChatRequest[] = [
      { messages: user('tell me about the water number 7'), maxTokens: 32, temperature: 0 },
      { messages: user('hello'), maxTokens: 48, temperature: 0 },
      {
        messages: [
          { role: 'system', content: 'you are a llama' },
          { role: 'user', content: 'what is a byzer' },
          { role: 'assistant', content: 'a word' },
          { role: 'user', content: 'say more' },
        ],
        maxTokens: 40,
        temperature: 0,
      },
    ];
    for (const request of requests) {
      const { plainResult, plainStream, chatResult } = await both(request);
      assert.ok(chatResult.text.length > 0);
      assert.equal(plainResult.text, chatResult.text);
      assert.equal(plainResult.finishReason, chatResult.finishReason);
      assert.deepEqual(plainResult.usage, chatResult.usage);
      assert.equal(plainStream.text, chatResult.text);
      assert.deepEqual(plainStream.usage, chatResult.usage);
    }
  });

  test('sampling settings (seed, temperature, top-k/p, min-p) give the same text as LlamaChat', async () => {
    const request: ChatRequest = {
      messages: user('tell me about a llama'),
      maxTokens: 40,
      temperature: 0.9,
      topK: 30,
      topP: 0.9,
      seed: 1234,
      extra: { min_p: 0.02 },
    };
    const { plainResult, chatResult } = await both(request);
    assert.equal(plainResult.text, chatResult.text);
    assert.deepEqual(plainResult.usage, chatResult.usage);
    const greedy = await both({ ...request, temperature: 0, seed: undefined });
    assert.notEqual(plainResult.text, greedy.plainResult.text, 'the sampling settings were applied');
  });

  test('a stop string ends the answer before it, on both paths alike; none of it is streamed', async () => {
    const free = await both({ messages: user('tell me about water'), maxTokens: 24, temperature: 0 });
    const words = free.chatResult.text.trim().split(/\s+/);
    assert.ok(words.length >= 4, free.chatResult.text);
    // A stop string spanning two tokens, so part of it is held back before it completes.
    const stop = `${words[2]} ${words[3]}`;
    const request = { messages: user('tell me about water'), maxTokens: 24, temperature: 0, stop: [stop] };
    const { plainResult, plainStream, chatResult } = await both(request);
    assert.equal(plainResult.finishReason, 'stop');
    assert.equal(plainResult.text, free.chatResult.text.slice(0, free.chatResult.text.indexOf(stop)));
    assert.equal(plainResult.text, chatResult.text);
    assert.equal(plainStream.text, plainResult.text);
    assert.ok(plainResult.usage.outputTokens < free.chatResult.usage.outputTokens);
  });

  test('max_tokens caps the answer at that many tokens with finish reason length', async () => {
    const { plainResult, chatResult } = await both({ messages: user('water'), maxTokens: 5, temperature: 0 });
    assert.equal(plainResult.finishReason, 'length');
    assert.equal(plainResult.usage.outputTokens, 5);
    assert.equal(plainResult.text, chatResult.text);
  });

  test('an abort during a stream ends it with an aborted error part; the sequence serves the next request', async () => {
    const { plain } = await modelsFor('auto');
    const abort = new AbortController();
    const stream = await plain.doStream(
      { messages: user('long'), maxTokens: 1500, temperature: 0 },
      { signal: abort.signal },
    );
    const types: string[] = [];
    let error: ByzerLLMError | undefined;
    for await (const part of stream) {
      types.push(part.type);
      if (part.type === 'text-delta') abort.abort();
      if (part.type === 'error') error = part.error;
    }
    assert.equal(error?.code, 'aborted');
    assert.equal(types.at(-1), 'error');
    assert.ok(!types.includes('finish'));
    const next = await plain.doGenerate({ messages: user('water'), maxTokens: 5, temperature: 0 });
    assert.equal(next.usage.outputTokens, 5);
    const aborted = AbortSignal.abort();
    await assert.rejects(
      plain.doGenerate({ messages: user('water'), maxTokens: 5 }, { signal: aborted }),
      (rejection: ByzerLLMError) => rejection.code === 'aborted',
    );
  });

  test('an already-aborted request leaves its sequence as it was: the abort is noticed before the erase', async () => {
    const { plain, sequences, chatWrapper } = await modelsFor('auto');
    await plain.doGenerate({ messages: user('water'), maxTokens: 5, temperature: 0 });
    const sequence = await sequences.acquire();
    try {
      const held = [...sequence.contextTokens];
      assert.ok(held.length > 0, "the sequence holds the last request's tokens");
      const history = toChatHistory(user('something else entirely, about fire'), []);
      const prompt = preparePlainPrompt(sequence, chatWrapper, history, 5);
      assert.ok(prompt, 'the plain path takes this prompt');
      let prepared = 0;
      const counted = {
        prepare: (...args: Parameters<SequencePool['prepare']>) => {
          prepared++;
          return sequences.prepare(...args);
        },
        pauseForErase: () => sequences.pauseForErase(),
      };
      const generation = generatePlainText(sequence, prompt, {
        maxTokens: 5,
        stop: [],
        sampling: samplingOf({ temperature: 0 }),
        sequences: counted,
        signal: AbortSignal.abort(),
      });
      await assert.rejects(generation, (rejection: ByzerLLMError) => rejection.code === 'aborted');
      assert.equal(prepared, 0, 'no erase was started');
      assert.deepEqual([...sequence.contextTokens], held, "the sequence's tokens are untouched");
    } finally {
      sequences.release(sequence);
    }
  });

  test('requests that need LlamaChat go through it: grammar, tools, an assistant prefix, penalties, a long generation', async () => {
    const { plain } = await modelsFor('auto');
    const requests: ChatRequest[] = [
      { messages: user('json'), maxTokens: 20, responseFormat: { type: 'json', schema: { type: 'object' } } },
      { messages: user('hi'), maxTokens: 4, tools: [{ name: 'lookup', parameters: { type: 'object' } }] },
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
        maxTokens: 4,
      },
      { messages: user('hi'), maxTokens: 4, presencePenalty: 0.5 },
      { messages: user('hi'), maxTokens: 4, extra: { repeat_penalty: 1.3 } },
      // Prompt and max_tokens beyond the sequence's context: LlamaChat shifts the context.
      { messages: user('hi'), maxTokens: 2048 },
    ];
    for (const request of requests) {
      const before = plainGenerationCount();
      const result = await plain.doGenerate(request);
      assert.ok(result.usage.outputTokens > 0);
      assert.equal(plainGenerationCount(), before, JSON.stringify(request.messages));
    }
  });

  test('a wrapper whose stop triggers only LlamaChat handles (chatml on this vocabulary) answers through it', async () => {
    // `<|im_end|>` is no token of the tiny vocabulary, so the trigger is special-token text.
    const pair = await modelsFor('chatml');
    const request: ChatRequest = { messages: user('hello'), maxTokens: 12, temperature: 0 };
    const before = plainGenerationCount();
    for (let round = 0; round < 2; round++) {
      const viaPlainModel = await pair.plain.doGenerate(request);
      const viaChat = await pair.chat.doGenerate(request);
      assert.equal(viaPlainModel.text, viaChat.text);
      assert.deepEqual(viaPlainModel.usage, viaChat.usage);
    }
    assert.equal(plainGenerationCount(), before);
  });
});
