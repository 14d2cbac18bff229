/**
 * A local model honours a request field or refuses it, never drops it silently: the openai SDK
 * through the gateway against a real llama_cpp deployment of the generated tiny GGUF.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

describe('llama_cpp through the gateway: honour or refuse', () => {
  let gateway: Gateway;
  let client: OpenAI;
  let directory: string;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-local-fields-'));
    const modelPath = (await ensureTinyLlamaModel(directory)).path;
    const local = { pretrainedModelType: 'custom/auto', inferBackend: 'llama_cpp', modelPath };
    gateway = await startGateway({
      deployments: [
        { ...local, name: 'tiny', inferParams: { max_tokens: '12' } },
        { ...local, name: 'tiny_mrl', inferParams: { matryoshka: 'true' } },
      ],
    });
    client = new OpenAI({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  const weather = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'the weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };

  const badRequest = async (request: Promise<unknown>) => {
    const error = await request.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    return error;
  };

  test('tools reach the model (no "ignored" warning) and a tool exchange in the history is rendered, not downgraded', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'tiny', messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [weather] })
      .withResponse();
    const choice = data.choices[0]!;
    assert.ok(['stop', 'length', 'tool_calls'].includes(choice.finish_reason), choice.finish_reason);
    for (const call of choice.message.tool_calls ?? []) {
      assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    }
    assert.equal(response.headers.get('x-byzerllm-warnings'), null);
    const followUp = await client.chat.completions
      .create({
        model: 'tiny',
        tools: [weather],
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21 C' },
        ],
      })
      .withResponse();
    assert.equal(followUp.response.headers.get('x-byzerllm-warnings'), null);
  });

  test('tool_choice the engine cannot force is a 400 naming tool_choice, also when streaming', async () => {
    for (const toolChoice of ['required', { type: 'function', function: { name: 'get_weather' } }] as const) {
      const error = await badRequest(
        client.chat.completions.create({
          model: 'tiny',
          messages: [{ role: 'user', content: 'hi' }],
          tools: [weather],
          tool_choice: toolChoice,
        }),
      );
      assert.equal(error.param, 'tool_choice');
    }
    const streamed = await badRequest(
      client.chat.completions.create({
        model: 'tiny',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [weather],
        tool_choice: 'required',
      }),
    );
    assert.equal(streamed.param, 'tool_choice');
  });

  test('logprobs and top_logprobs are a 400 naming the field; logprobs: false is fine', async () => {
    const logprobs = await badRequest(
      client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'hi' }],
        logprobs: true,
      }),
    );
    assert.equal(logprobs.param, 'logprobs');
    assert.match(logprobs.message, /logprobs is not supported by the llama_cpp engine/);
    const top = await badRequest(
      client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'hi' }],
        top_logprobs: 2,
      }),
    );
    assert.equal(top.param, 'top_logprobs');
    const plain = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      logprobs: false,
    });
    assert.equal(plain.choices.length, 1);
  });

  test('what the engine leaves out is a warning the client sees in x-byzerllm-warnings', async () => {
    const { response } = await client.chat.completions
      .create({
        model: 'tiny',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      })
      .withResponse();
    const warnings = JSON.parse(response.headers.get('x-byzerllm-warnings') ?? '[]') as {
      setting?: string;
      message: string;
    }[];
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!.setting ?? '', /^content\./);
    assert.match(warnings[0]!.message, /reads text only/);
  });

  test('dimensions: the native size passes; a cut is a 400 naming dimensions unless the model is Matryoshka', async () => {
    const native = await client.embeddings.create({
      model: 'tiny',
      input: 'vector',
      encoding_format: 'float',
    });
    const size = native.data[0]!.embedding.length;
    assert.ok(size > 8, String(size));
    const same = await client.embeddings.create({
      model: 'tiny',
      input: 'vector',
      dimensions: size,
      encoding_format: 'float',
    });
    assert.deepEqual(same.data[0]!.embedding, native.data[0]!.embedding);
    const refused = await badRequest(
      client.embeddings.create({ model: 'tiny', input: 'vector', dimensions: 8, encoding_format: 'float' }),
    );
    assert.equal(refused.param, 'dimensions');
    assert.match(refused.message, /matryoshka=true/);
    const cut = await client.embeddings.create({ model: 'tiny_mrl', input: 'vector', dimensions: 8 });
    const vector = cut.data[0]!.embedding;
    assert.equal(vector.length, 8);
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5, 'renormalised');
    const full = await client.embeddings.create({
      model: 'tiny_mrl',
      input: 'vector',
      encoding_format: 'float',
    });
    const head = full.data[0]!.embedding.slice(0, 8);
    const norm = Math.hypot(...head);
    for (const [index, value] of vector.entries()) assert.ok(Math.abs(value - head[index]! / norm) < 1e-5);
    const tooLong = await badRequest(
      client.embeddings.create({ model: 'tiny_mrl', input: 'vector', dimensions: size + 1 }),
    );
    assert.equal(tooLong.param, 'dimensions');
  });
});
