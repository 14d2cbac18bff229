/**
 * The llama_cpp engine in this process on the generated tiny GGUF: chat, stream, usage, params,
 * chat templates, LoRA, embeddings and meta. (Worker processes and the CLI are tested in
 * test/cli/llama-cpp-cli.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ByzerLLMError,
  type ChatResult,
  collectStream,
  deploymentSpecSchema,
  type EngineInstance,
} from '../../src/core/index.js';
import { resolveEngine } from '../../src/engines/index.js';
import { chatWrapperResolutionCount } from '../../src/engines/llama-cpp/chat-wrapper.js';
import { contextSizePerSequence, readLlamaCppParams } from '../../src/engines/llama-cpp/llama-cpp-params.js';
import { createTinyLoraGguf } from '../../src/engines/llama-cpp/tiny-model/tiny-lora.js';
import {
  createTinyLlamaGguf,
  ensureTinyLlamaModel,
} from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let modelPath: string;
const instances: EngineInstance[] = [];

async function load(inferParams: Record<string, string> = {}, warnings: string[] = []) {
  const spec = deploymentSpecSchema.parse({
    name: 'tiny',
    pretrainedModelType: 'custom/auto',
    inferBackend: 'llama_cpp',
    modelPath,
    workerConcurrency: 2,
    inferParams,
  });
  const instance = await resolveEngine(spec)({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
  instances.push(instance);
  return instance;
}

const ask = (instance: EngineInstance, content: string, maxTokens = 16) =>
  instance.chat!.doGenerate({ messages: [{ role: 'user', content }], maxTokens });

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-llama-'));
  modelPath = (await ensureTinyLlamaModel(directory)).path;
});

after(async () => {
  for (const instance of instances) await instance.dispose();
  await fs.rm(directory, { recursive: true, force: true });
});

describe('tiny GGUF', () => {
  test('the same seed gives the same bytes, another seed other weights', () => {
    assert.deepEqual(createTinyLlamaGguf(), createTinyLlamaGguf());
    assert.notDeepEqual(createTinyLlamaGguf({ seed: 1 }), createTinyLlamaGguf({ seed: 2 }));
    assert.equal(Buffer.from(createTinyLlamaGguf().subarray(0, 4)).toString(), 'GGUF');
  });
});

describe('llama_cpp engine', () => {
  let engine: EngineInstance;
  before(async () => {
    engine = await load();
  });

  test('chat answers printable text with usage and a finish reason; the stream has the same text', async () => {
    const result = await ask(engine, 'hello', 12);
    assert.match(result.text, /^[\x20-\x7e]+$/);
    assert.equal(result.finishReason === 'length' || result.finishReason === 'stop', true);
    assert.ok(result.usage.inputTokens > 0);
    assert.ok(result.usage.outputTokens > 0 && result.usage.outputTokens <= 12);
    const streamed = await collectStream(
      await engine.chat!.doStream({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 12 }),
    );
    assert.equal(streamed.text, result.text);
    assert.deepEqual(streamed.usage, result.usage);
  });

  test('two requests run at once on the two sequences', async () => {
    const [first, second] = await Promise.all([ask(engine, 'one'), ask(engine, 'two')]);
    assert.ok(first.text.length > 0 && second.text.length > 0);
  });

  test('concurrent streams, their text merged on one clock, each carry their whole answer in order', async () => {
    // Four streams on two sequences: two wait for a sequence; the parts of all of them leave on the
    // model's shared coalescing ticks.
    const prompts = ['one', 'two', 'three', 'four'];
    const request = (content: string) => ({ messages: [{ role: 'user' as const, content }], maxTokens: 12 });
    const expected: ChatResult[] = [];
    for (const prompt of prompts) expected.push(await engine.chat!.doGenerate(request(prompt)));
    const streams = await Promise.all(
      prompts.map(async (prompt) => {
        const parts = [];
        for await (const part of await engine.chat!.doStream(request(prompt))) parts.push(part);
        return parts;
      }),
    );
    streams.forEach((parts, index) => {
      assert.equal(parts[0]?.type, 'response-metadata');
      assert.equal(parts.at(-1)?.type, 'finish');
      assert.ok(parts.slice(1, -1).every((part) => part.type === 'text-delta'));
      const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
      assert.equal(text, expected[index]!.text, prompts[index]);
      const finish = parts.at(-1) as Extract<(typeof parts)[number], { type: 'finish' }>;
      assert.deepEqual(finish.usage, expected[index]!.usage);
    });
  });

  test('meta describes the GGUF', () => {
    assert.equal(engine.meta.backend, 'llama_cpp');
    assert.equal(engine.meta.model_deploy_type, 'proprietary');
    assert.equal(engine.meta.model_name, 'tiny-llama');
    assert.deepEqual(engine.meta.architectures, ['llama']);
    assert.equal(engine.meta.embedding_dimension, 64);
    assert.equal(engine.meta.max_model_len, 2048);
    assert.equal(engine.meta.support_stream, true);
    // JSON schemas become grammars, so clients use the native structured mode.
    assert.equal(engine.meta.support_response_format, true);
    // `auto` resolved the GGUF's own Jinja template.
    assert.equal(engine.meta.chat_template, 'JinjaTemplate');
    // A plain llama has no classification head: rerank is not offered rather than failing later.
    assert.deepEqual(engine.meta.tasks, ['chat', 'embedding']);
    assert.equal(engine.rerank, undefined);
  });

  test('a stop sequence ends the answer before it', async () => {
    const free = await ask(engine, 'tell me about water', 24);
    const words = free.text.trim().split(/\s+/);
    assert.ok(words.length >= 3, free.text);
    const stopWord = words[2]!;
    const stopped = await engine.chat!.doGenerate({
      messages: [{ role: 'user', content: 'tell me about water' }],
      maxTokens: 24,
      stop: [stopWord],
    });
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stopWord)));
  });

  test('a JSON schema response format gives JSON of that shape, also streamed', async () => {
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, mood: { enum: ['good', 'bad'] } },
      required: ['ok', 'mood'],
      additionalProperties: false,
    };
    const request = {
      messages: [{ role: 'user' as const, content: 'answer in JSON' }],
      maxTokens: 40,
      responseFormat: { type: 'json' as const, schema },
    };
    const streamed = await collectStream(await engine.chat!.doStream(request));
    const value = JSON.parse(streamed.text) as { ok: unknown; mood: unknown };
    assert.equal(typeof value.ok, 'boolean');
    assert.ok(value.mood === 'good' || value.mood === 'bad', streamed.text);
  });

  test('the chat wrapper is resolved once per loaded model, never per request', async () => {
    // Resolving a GGUF's Jinja template costs about a second of CPU; paid per request it was most
    // of every request's time to first token (issue 11).
    const before = chatWrapperResolutionCount();
    const instance = await load();
    assert.equal(chatWrapperResolutionCount(), before + 1);
    await ask(instance, 'one');
    await Promise.all([ask(instance, 'two'), ask(instance, 'three'), ask(instance, 'four')]);
    await collectStream(
      await instance.chat!.doStream({ messages: [{ role: 'user', content: 'five' }], maxTokens: 4 }),
    );
    assert.equal(chatWrapperResolutionCount(), before + 1);
    await load({ template: 'chatml' });
    assert.equal(chatWrapperResolutionCount(), before + 2);
  });

  test('embeddings: one vector of the model dimension per text', async () => {
    const result = await engine.embedding!.doEmbed({ values: ['hello', 'water'] });
    assert.equal(result.embeddings.length, 2);
    assert.equal(result.embeddings[1]!.length, 64);
    assert.ok(result.usage.inputTokens > 0);
  });

  test('an aborted call fails as aborted', async () => {
    const abort = new AbortController();
    const pending = engine.chat!.doGenerate(
      { messages: [{ role: 'user', content: 'long' }], maxTokens: 5000 },
      { signal: abort.signal },
    );
    setImmediate(() => abort.abort());
    await assert.rejects(pending, (error: ByzerLLMError) => error.code === 'aborted');
  });

  test('unknown extras are warnings; tools are passed to the model, not warned about', async () => {
    const result = await engine.chat!.doGenerate({
      messages: [{ role: 'user', content: 'hi' }],
      maxTokens: 4,
      tools: [{ name: 'lookup', parameters: { type: 'object' } }],
      extra: { mystery: 1 },
    });
    assert.deepEqual(result.warnings.map((warning) => warning.setting).sort(), ['mystery']);
  });
});

describe('llama_cpp params', () => {
  test('a LoRA adapter changes the answer', async () => {
    const loraPath = path.join(directory, 'lora.gguf');
    await fs.writeFile(loraPath, createTinyLoraGguf());
    const base = await ask(await load(), 'hello there', 12);
    const adapted = await ask(await load({ lora: loraPath }), 'hello there', 12);
    assert.notEqual(adapted.text, base.text);
  });

  test('stream parts faster than stream_interval_ms are merged; the first goes out on its own', async () => {
    const request = { messages: [{ role: 'user' as const, content: 'tell me more' }], maxTokens: 16 };
    const deltasOf = async (instance: EngineInstance) => {
      const deltas: string[] = [];
      for await (const part of await instance.chat!.doStream(request)) {
        if (part.type === 'text-delta') deltas.push(part.delta);
      }
      return deltas;
    };
    const whole = (await (await load()).chat!.doGenerate(request)).text;
    // No interval: one part per chunk node-llama-cpp reports.
    const each = await deltasOf(await load({ stream_interval_ms: '0' }));
    assert.ok(each.length > 2, `${each.length} parts`);
    assert.equal(each.join(''), whole);
    // An interval longer than the whole answer: the first chunk at once, the rest in one part.
    const merged = await deltasOf(await load({ stream_interval_ms: '600000' }));
    assert.deepEqual(merged, [each[0], each.slice(1).join('')]);
  });

  test('a named chat template replaces the GGUF one and changes the prompt', async () => {
    const gguf = await load();
    const chatml = await load({ template: 'chatml' });
    assert.equal(chatml.meta.chat_template, 'ChatML');
    const [fromGguf, fromChatml] = await Promise.all([ask(gguf, 'hello', 4), ask(chatml, 'hello', 4)]);
    assert.notEqual(fromChatml.usage.inputTokens, fromGguf.usage.inputTokens);
  });

  test('n_ctx is shared by the sequences: node-llama-cpp gets the size of one sequence', () => {
    const params = (inferParams: Record<string, string>) => readLlamaCppParams(inferParams, () => {});
    assert.equal(contextSizePerSequence(params({}), 8, 4096), 2048);
    assert.equal(contextSizePerSequence(params({}), 8, 1024), 1024);
    assert.equal(contextSizePerSequence(params({ n_ctx: '4096' }), 2, 8192), 2048);
    assert.equal(contextSizePerSequence(params({ n_ctx: '4096' }), 1, 2048), 2048);
  });

  test('unknown params warn; bad values and missing files fail with the value named', async () => {
    const warnings: string[] = [];
    await load({ surprise: '1', 'backend.n_ctx': '1024' }, warnings);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /surprise/);
    await assert.rejects(load({ n_gpu_layers: 'many' }), (error: ByzerLLMError) => {
      assert.equal(error.code, 'invalid_argument');
      assert.match(error.message, /"many"/);
      return true;
    });
    await assert.rejects(load({ stream_interval_ms: '-1' }), (error: ByzerLLMError) => {
      assert.equal(error.code, 'invalid_argument');
      assert.match(error.message, /stream_interval_ms must be an integer >= 0; got "-1"/);
      return true;
    });
    modelPath = path.join(directory, 'missing.gguf');
    try {
      await assert.rejects(load(), (error: ByzerLLMError) => {
        assert.equal(error.code, 'invalid_argument');
        assert.match(error.message, /missing\.gguf/);
        return true;
      });
    } finally {
      modelPath = path.join(directory, 'tiny-llama-v1.gguf');
    }
  });
});
