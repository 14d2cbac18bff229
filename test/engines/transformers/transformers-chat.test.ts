/**
 * custom/auto chat on the transformers backend with the project's tiny llama exported to ONNX by
 * torch (`python3 -m byzerllm_train export-onnx`): greedy answers equal the plain torch model's greedy
 * tokens (so a wrong export, cache or engine fails), streaming, stop strings, abort, and the fields the
 * engine refuses or reports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StreamPart } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import { ByzerLLMError } from '../../../src/core/errors.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createTransformersEngine } from '../../../src/engines/transformers/transformers-provider.js';
import {
  ensureTinyLlamaOnnx,
  type GreedyReference,
  greedyReference,
  renderedUserTurn,
  TINY_LLAMA_EOS,
  type TinyLlamaOnnx,
} from '../../support/tiny-onnx/tiny-llama-onnx.js';

const RENDERED_HELLO = renderedUserTurn('hello');

function load(modelPath: string): Promise<EngineInstance> {
  const spec = deploymentSpecSchema.parse({
    name: 'tiny-chat',
    pretrainedModelType: 'custom/auto',
    inferBackend: 'transformers',
    modelPath,
  });
  return createTransformersEngine({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const all: StreamPart[] = [];
  for await (const part of parts) all.push(part);
  return all;
}

describe('transformers engine: custom/auto chat on an ONNX decoder', () => {
  let model: TinyLlamaOnnx;
  let engine: EngineInstance;
  /** What torch picks greedily after the rendered "hello", cut at the end token like generation is. */
  let expected: GreedyReference;

  before(async () => {
    model = await ensureTinyLlamaOnnx();
    engine = await load(model.folder);
    expected = await greedyReference(model, RENDERED_HELLO, 12);
  });
  after(async () => {
    await engine?.dispose();
  });

  test('meta describes a streaming local chat model', () => {
    assert.deepEqual(engine.meta.tasks, ['chat']);
    assert.equal(engine.meta.backend, 'transformers');
    assert.equal(engine.meta.support_stream, true);
    assert.equal(engine.meta.support_chat_template, true);
    assert.equal(engine.meta.max_model_len, 2048);
    assert.deepEqual(engine.meta.architectures, ['LlamaForCausalLM']);
  });

  test("the chat template and tokenizer are the model folder's", async () => {
    const rendered = await engine.tokenizer!.doApplyChatTemplate({
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(rendered.text, RENDERED_HELLO);
    assert.deepEqual(
      (await engine.tokenizer!.doTokenize({ text: RENDERED_HELLO })).tokens,
      expected.promptTokens,
    );
  });

  test("greedy answer equals the torch model's greedy tokens, with usage and finish reason", async () => {
    assert.ok(expected.text.length > 0, 'the reference answer has text');
    const result = await engine.chat!.doGenerate({
      messages: [{ role: 'user', content: 'hello' }],
      maxTokens: 12,
    });
    assert.equal(result.text, expected.text);
    assert.deepEqual(result.usage, {
      inputTokens: expected.promptTokens.length,
      outputTokens: expected.tokens.length,
    });
    assert.equal(result.finishReason, expected.tokens.at(-1) === TINY_LLAMA_EOS ? 'stop' : 'length');
    assert.deepEqual(result.warnings, []);
  });

  test('streamed deltas concatenate to the same answer and end in one finish part', async () => {
    const parts = await collect(
      await engine.chat!.doStream({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 12 }),
    );
    assert.equal(parts[0]?.type, 'response-metadata');
    const deltas = parts.filter((part) => part.type === 'text-delta');
    assert.ok(deltas.length > 1, `several text parts, got ${deltas.length}`);
    assert.equal(deltas.map((part) => part.delta).join(''), expected.text);
    const finish = parts.at(-1);
    assert.equal(finish?.type, 'finish');
    assert.equal(finish.usage.outputTokens, expected.tokens.length);
  });

  test('a stop string ends the answer just before it', async () => {
    const stop = expected.text.slice(Math.floor(expected.text.length / 2)).slice(0, 2);
    const cut = expected.text.indexOf(stop);
    const result = await engine.chat!.doGenerate({
      messages: [{ role: 'user', content: 'hello' }],
      maxTokens: 12,
      stop: [stop],
    });
    assert.equal(result.text, expected.text.slice(0, cut));
    assert.equal(result.finishReason, 'stop');
  });

  test('aborting a stream stops generation with an aborted error part', async () => {
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    const stream = await engine.chat!.doStream(
      { messages: [{ role: 'user', content: 'hello' }], maxTokens: 1500 },
      { signal: controller.signal },
    );
    for await (const part of stream) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    const last = parts.at(-1);
    assert.equal(last?.type, 'error');
    assert.equal(last.error.code, 'aborted');
    assert.ok(parts.filter((part) => part.type === 'text-delta').length < 100, 'generation stopped early');
  });

  test('concurrent greedy requests with different prompts each answer what they answer alone', async () => {
    const prompts = ['hello', 'the model', 'byzer llama answer', 'what is water', 'one two', 'I see'];
    const request = (content: string) => ({ messages: [{ role: 'user' as const, content }], maxTokens: 24 });
    const alone: string[] = [];
    for (const prompt of prompts) alone.push((await engine.chat!.doGenerate(request(prompt))).text);
    assert.ok(new Set(alone).size >= 3, `the prompts lead to different answers: ${JSON.stringify(alone)}`);
    // Half streamed, half not, all started in the same turn; the log shows they really overlapped.
    const log: string[] = [];
    const together = await Promise.all(
      prompts.map(async (prompt, index) => {
        if (index % 2 === 1) return (await engine.chat!.doGenerate(request(prompt))).text;
        let text = '';
        for await (const part of await engine.chat!.doStream(request(prompt))) {
          log.push(`${index}:${part.type}`);
          if (part.type === 'text-delta') text += part.delta;
        }
        return text;
      }),
    );
    assert.deepEqual(together, alone);
    const firstFinish = log.findIndex((entry) => entry.endsWith(':finish'));
    const streamingBeforeIt = new Set(
      log
        .slice(0, firstFinish)
        .filter((entry) => entry.endsWith(':text-delta'))
        .map((entry) => entry.split(':')[0]),
    );
    assert.equal(
      streamingBeforeIt.size,
      3,
      `every stream produced text before any finished: ${log.join(' ')}`,
    );
  });

  test('aborting one of several concurrent requests leaves the others their own answers', async () => {
    const request = (content: string) => ({ messages: [{ role: 'user' as const, content }], maxTokens: 24 });
    const expectedOthers = [
      (await engine.chat!.doGenerate(request('the model'))).text,
      (await engine.chat!.doGenerate(request('what is water'))).text,
    ];
    const controller = new AbortController();
    const aborted = (async () => {
      const parts: StreamPart[] = [];
      const stream = await engine.chat!.doStream(
        { messages: [{ role: 'user', content: 'hello' }], maxTokens: 1500 },
        { signal: controller.signal },
      );
      for await (const part of stream) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }
      return parts.at(-1);
    })();
    const others = Promise.all([
      engine.chat!.doGenerate(request('the model')),
      engine.chat!.doGenerate(request('what is water')),
    ]);
    const last = await aborted;
    assert.equal(last?.type === 'error' && last.error.code, 'aborted');
    assert.deepEqual(
      (await others).map((result) => result.text),
      expectedOthers,
    );
  });

  test('sampling settings it cannot honour come back as warnings; temperature samples', async () => {
    const result = await engine.chat!.doGenerate({
      messages: [{ role: 'user', content: 'hello' }],
      maxTokens: 4,
      temperature: 0.8,
      seed: 1,
      extra: { mirostat: 2 },
    });
    assert.equal(result.usage.outputTokens, 4);
    assert.deepEqual(
      result.warnings.map((warning) => warning.setting),
      ['seed', 'mirostat'],
    );
  });

  test('tools and a JSON response format are refused naming the field', async () => {
    const messages = [{ role: 'user' as const, content: 'hello' }];
    await assert.rejects(
      engine.chat!.doGenerate({ messages, tools: [{ name: 'f', parameters: { type: 'object' } }] }),
      (error: unknown) =>
        error instanceof ByzerLLMError && error.code === 'invalid_argument' && /tools/.test(error.message),
    );
    await assert.rejects(
      engine.chat!.doStream({ messages, responseFormat: { type: 'json' } }),
      (error: unknown) => error instanceof ByzerLLMError && /responseFormat/.test(error.message),
    );
  });
});
