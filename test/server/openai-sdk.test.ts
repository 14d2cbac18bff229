/**
 * The official `openai` SDK, unchanged, against the gateway: chat (stream and not), tools, JSON
 * schema output, embeddings (base64, its default, and float), models, errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

describe('gateway with the openai SDK', () => {
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway({
      upstream: {
        reply: (text) =>
          text.startsWith('json') ? JSON.stringify({ city: 'Paris', population: 2 }) : `echo: ${text}`,
      },
      server: { apiKey: 'gateway-key' },
    });
    client = new OpenAI({ baseURL: gateway.url, apiKey: 'gateway-key', maxRetries: 0 });
  });
  after(() => gateway.close());

  test('chat completion, with no tiny max_tokens default', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'gpt_chat');
    assert.equal(completion.choices[0]?.message.content, 'echo: hello there');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.equal(completion.usage?.completion_tokens, 3);
    const sent = lastChatBody(gateway.upstream);
    assert.equal(sent.max_tokens, undefined);
    assert.equal(sent.max_completion_tokens, undefined);
  });

  test('refusal is null and every answer has an x-request-id the SDK exposes', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(completion.choices[0]?.message.refusal, null);
    assert.match(completion._request_id ?? '', /^req_[0-9a-f]{32}$/);
    const { data, response } = await client.models.list().withResponse();
    assert.ok(data.data.length > 0);
    const id = response.headers.get('x-request-id') ?? '';
    assert.match(id, /^req_[0-9a-f]{32}$/);
    assert.notEqual(id, completion._request_id, 'one id per request');
    const failure = await client.chat.completions
      .create({ model: 'no_such_model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    assert.ok(failure instanceof OpenAI.NotFoundError);
    assert.match(failure.requestID ?? '', /^req_[0-9a-f]{32}$/);
  });

  test('sampling fields, stop, seed and max_completion_tokens reach the engine', async () => {
    await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 77,
      temperature: 0.3,
      stop: 'END',
      seed: 42,
    });
    const sent = lastChatBody(gateway.upstream);
    assert.equal(sent.max_tokens ?? sent.max_completion_tokens, 77);
    assert.equal(sent.temperature, 0.3);
    assert.deepEqual(sent.stop, ['END']);
    assert.equal(sent.seed, 42);
  });

  test('n=2 answers two choices', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'twice' }],
      n: 2,
    });
    assert.deepEqual(
      completion.choices.map((choice) => [choice.index, choice.message.content]),
      [
        [0, 'echo: twice'],
        [1, 'echo: twice'],
      ],
    );
  });

  test('streaming with usage and reasoning_content deltas', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'stream me reason:' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let reasoning = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      reasoning += (choice?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'echo: stream me reason:');
    assert.equal(reasoning, 'thinking about: stream me reason:');
    assert.equal(finish, 'stop');
    // The stand-in counts words of the answer and the reasoning: 4 + 5.
    assert.equal(usage?.completion_tokens, 9);
  });

  test('tools: the call comes back in the OpenAI shape, stream and not', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: 'look a word up',
          parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        },
      },
    ];
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'tool:lookup cats' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    assert.equal(completion.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(call?.type === 'function' ? call.function.name : undefined, 'lookup');
    assert.deepEqual(JSON.parse(call?.type === 'function' ? call.function.arguments : '{}'), {
      text: 'tool:lookup cats',
    });
    const sent = lastChatBody(gateway.upstream);
    assert.deepEqual(sent.tool_choice, { type: 'function', function: { name: 'lookup' } });
    assert.equal((sent.tools as { function: { name: string } }[])[0]?.function.name, 'lookup');

    const runner = client.chat.completions.stream({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'tool:lookup dogs' }],
      tools,
    });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls?.[0];
    assert.equal(streamed?.type === 'function' ? streamed.function.name : undefined, 'lookup');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  });

  test('the tool result round trip is forwarded', async () => {
    await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    const messages = lastChatBody(gateway.upstream).messages as Record<string, unknown>[];
    assert.equal(messages[2]?.role, 'tool');
    assert.equal(messages[2]?.tool_call_id, 'call_1');
    assert.equal((messages[1]?.tool_calls as { id: string }[] | undefined)?.[0]?.id, 'call_1');
  });

  test('JSON-schema output: response_format reaches the engine and the JSON comes back', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'city',
          schema: {
            type: 'object',
            properties: { city: { type: 'string' }, population: { type: 'number' } },
            required: ['city', 'population'],
          },
        },
      },
    });
    assert.deepEqual(JSON.parse(completion.choices[0]?.message.content ?? ''), {
      city: 'Paris',
      population: 2,
    });
    const format = lastChatBody(gateway.upstream).response_format as {
      type: string;
      json_schema?: { name: string };
    };
    assert.equal(format.type, 'json_schema');
    assert.equal(format.json_schema?.name, 'city');
  });

  test('multimodal content parts are forwarded as image parts', async () => {
    await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
          ],
        },
      ],
    });
    const content = (lastChatBody(gateway.upstream).messages as { content: unknown }[])[0]?.content as {
      type: string;
      image_url?: { url: string; detail?: string };
    }[];
    assert.equal(content[1]?.type, 'image_url');
    assert.equal(content[1]?.image_url?.url, 'data:image/png;base64,iVBORw0KGgo=');
    assert.equal(content[1]?.image_url?.detail, 'low');
  });

  test('embeddings: base64 (the SDK default) decodes to the same floats as float', async () => {
    const asBase64 = await client.embeddings.create({ model: 'gpt_chat', input: ['alpha', 'beta'] });
    const asFloat = await client.embeddings.create({
      model: 'gpt_chat',
      input: 'alpha',
      encoding_format: 'float',
    });
    assert.equal(asBase64.data.length, 2);
    assert.equal(asBase64.data[1]?.index, 1);
    const decoded = asBase64.data[0]?.embedding ?? [];
    const floats = asFloat.data[0]?.embedding ?? [];
    assert.ok(floats.length > 0);
    assert.deepEqual(
      decoded.map((value) => Math.fround(value)),
      floats.map((value) => Math.fround(value)),
    );
    assert.equal(asFloat.model, 'gpt_chat');
  });

  test('embeddings: dimensions is passed to the engine', async () => {
    await client.embeddings.create({
      model: 'gpt_chat',
      input: 'x',
      dimensions: 8,
      encoding_format: 'float',
    });
    const sent = gateway.upstream.requests.filter((request) => request.path === '/v1/embeddings').at(-1)
      ?.body as Record<string, unknown>;
    assert.equal(sent.dimensions, 8);
  });

  test('models: the deployed models with their type', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    assert.deepEqual(
      models.map((model) => [model.id, (model as unknown as { type: string }).type]),
      [['gpt_chat', 'chat']],
    );
    const one = await client.models.retrieve('gpt_chat');
    assert.equal(one.owned_by, 'byzerllm');
  });

  test('an unknown model is a 404 naming it and the deployed ones', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.match(error.message, /nope/);
        assert.match(error.message, /gpt_chat/);
        assert.equal(error.code, 'model_not_found');
        return true;
      },
    );
  });

  test('a wrong key is a 401 AuthenticationError', async () => {
    const wrong = new OpenAI({ baseURL: gateway.url, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
  });

  test('a bad field is a 400 naming it', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'gpt_chat',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 7,
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.param, 'temperature');
        assert.match(error.message, /temperature 7/);
        return true;
      },
    );
  });
});
