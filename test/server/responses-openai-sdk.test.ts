/**
 * The official `openai` SDK's `responses` API, unchanged, against the gateway: plain, streamed (the
 * typed `response.*` events), tools with the function_call_output round trip, structured output,
 * `previous_response_id` over stored responses, `store: false`, retrieve and delete.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

type SentMessage = { role: string; content: unknown; tool_calls?: { id: string }[]; tool_call_id?: string };

describe('gateway /v1/responses with the openai SDK', () => {
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway({
      upstream: {
        reply: (text) => (text.startsWith('json') ? JSON.stringify({ city: 'Paris' }) : `echo: ${text}`),
      },
      server: { apiKey: 'gateway-key' },
    });
    client = new OpenAI({ baseURL: gateway.url, apiKey: 'gateway-key', maxRetries: 0 });
  });
  after(() => gateway.close());

  test('plain: instructions become the system message and output_text is the answer', async () => {
    const response = await client.responses.create({
      model: 'gpt_chat',
      instructions: 'be brief',
      input: 'hello responses',
      max_output_tokens: 50,
    });
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.match(response.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(response.output_text, 'echo: hello responses');
    assert.equal(response.usage?.output_tokens, 3);
    assert.match(response._request_id ?? '', /^req_/);
    const sent = lastChatBody(gateway.upstream);
    assert.deepEqual(
      (sent.messages as SentMessage[]).map((message) => [message.role, message.content]),
      [
        ['system', 'be brief'],
        ['user', 'hello responses'],
      ],
    );
    assert.equal(sent.max_tokens ?? sent.max_completion_tokens, 50);
  });

  test('stream: typed events in order with rising sequence numbers', async () => {
    const stream = await client.responses.create({ model: 'gpt_chat', input: 'stream this', stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.equal(text, 'echo: stream this');
    assert.deepEqual(
      types.filter((type) => type !== 'response.output_text.delta'),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(
      sequence,
      sequence.map((_, index) => index),
    );
    assert.equal(completed?.output_text ?? outputText(completed), 'echo: stream this');
    assert.equal(completed?.usage?.output_tokens, 3);

    const helper = client.responses.stream({ model: 'gpt_chat', input: 'helper stream' });
    const final = await helper.finalResponse();
    assert.equal(final.output_text, 'echo: helper stream');
  });

  test('tools: a function_call item, then the function_call_output round trip', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: 'function',
        name: 'lookup',
        description: 'look a word up',
        parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        strict: true,
      },
    ];
    const first = await client.responses.create({ model: 'gpt_chat', input: 'tool:lookup cats', tools });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    assert.equal(call.name, 'lookup');
    assert.deepEqual(JSON.parse(call.arguments), { text: 'tool:lookup cats' });
    const sentTools = lastChatBody(gateway.upstream).tools as { function: { name: string } }[];
    assert.equal(sentTools[0]?.function.name, 'lookup');

    const second = await client.responses.create({
      model: 'gpt_chat',
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
      ],
      tools,
    });
    assert.equal(second.status, 'completed');
    const messages = lastChatBody(gateway.upstream).messages as SentMessage[];
    assert.deepEqual(
      messages.map((message) => message.role),
      ['user', 'assistant', 'tool'],
    );
    assert.equal(messages[1]?.tool_calls?.[0]?.id, call.call_id);
    assert.equal(messages[2]?.tool_call_id, call.call_id);
    assert.equal(messages[2]?.content, 'sunny');

    const streamed = await client.responses
      .stream({ model: 'gpt_chat', input: 'tool:lookup dogs', tools })
      .finalResponse();
    const streamedCall = streamed.output.find((item) => item.type === 'function_call');
    assert.equal(streamedCall?.type === 'function_call' ? streamedCall.name : undefined, 'lookup');
  });

  test('structured output: text.format json_schema reaches the engine and parses', async () => {
    const response = await client.responses.create({
      model: 'gpt_chat',
      input: 'json please',
      text: {
        format: {
          type: 'json_schema',
          name: 'city',
          schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          strict: true,
        },
      },
    });
    assert.deepEqual(JSON.parse(response.output_text), { city: 'Paris' });
    const format = lastChatBody(gateway.upstream).response_format as {
      type: string;
      json_schema?: { name: string };
    };
    assert.equal(format.type, 'json_schema');
    assert.equal(format.json_schema?.name, 'city');
  });

  test('previous_response_id continues the stored conversation; retrieve and delete', async () => {
    const first = await client.responses.create({
      model: 'gpt_chat',
      instructions: 'first rules',
      input: 'one',
    });
    const stored = JSON.parse(
      await fs.readFile(path.join(gateway.responsesDirectory, `${first.id}.json`), 'utf8'),
    ) as { messages: unknown[] };
    assert.equal(stored.messages.length, 2);

    await client.responses.create({ model: 'gpt_chat', input: 'two', previous_response_id: first.id });
    const sent = lastChatBody(gateway.upstream).messages as SentMessage[];
    // Instructions are not carried over, as OpenAI documents.
    assert.deepEqual(
      sent.map((message) => [message.role, message.content]),
      [
        ['user', 'one'],
        ['assistant', 'echo: one'],
        ['user', 'two'],
      ],
    );

    const retrieved = await client.responses.retrieve(first.id);
    assert.equal(retrieved.id, first.id);
    assert.equal(retrieved.output_text, 'echo: one');
    await client.responses.delete(first.id);
    const gone = await client.responses.retrieve(first.id).catch((error: unknown) => error);
    assert.ok(gone instanceof OpenAI.NotFoundError);
    const missing = await client.responses
      .create({ model: 'gpt_chat', input: 'three', previous_response_id: first.id })
      .catch((error: unknown) => error);
    assert.ok(missing instanceof OpenAI.NotFoundError);
    assert.equal((missing.error as { param?: string }).param, 'previous_response_id');
  });

  test('store: false keeps nothing; a damaged stored file is refused, not half-used', async () => {
    const unstored = await client.responses.create({ model: 'gpt_chat', input: 'forget me', store: false });
    const notFound = await client.responses.retrieve(unstored.id).catch((error: unknown) => error);
    assert.ok(notFound instanceof OpenAI.NotFoundError);

    const kept = await client.responses.create({ model: 'gpt_chat', input: 'keep me' });
    await fs.writeFile(path.join(gateway.responsesDirectory, `${kept.id}.json`), '{"response":{"id":1}}');
    const damaged = await client.responses
      .create({ model: 'gpt_chat', input: 'more', previous_response_id: kept.id })
      .catch((error: unknown) => error);
    assert.ok(damaged instanceof OpenAI.BadRequestError);
    assert.match(damaged.message, /damaged/);
  });

  test('settings a deployment cannot honour: a warning header, or a 400 when the client relies on it', async () => {
    const { data, response } = await client.responses
      .create({ model: 'gpt_chat', input: 'hi', reasoning: { effort: 'low' }, parallel_tool_calls: false })
      .withResponse();
    assert.equal(data.output_text, 'echo: hi');
    assert.equal(
      response.headers.get('x-byzerllm-warnings'),
      'ignored (deployments cannot honour them): reasoning, parallel_tool_calls',
    );
    const plain = await client.responses.create({ model: 'gpt_chat', input: 'hi' }).withResponse();
    assert.equal(plain.response.headers.get('x-byzerllm-warnings'), null);
    const background = await client.responses
      .create({ model: 'gpt_chat', input: 'hi', background: true })
      .catch((caught: unknown) => caught);
    assert.ok(background instanceof OpenAI.BadRequestError);
    assert.equal((background.error as { param?: string }).param, 'background');
  });

  test('hosted tools and unknown item types are refused with a 400 naming the field', async () => {
    const error = await client.responses
      .create({ model: 'gpt_chat', input: 'search', tools: [{ type: 'web_search_preview' }] })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal((error.error as { param?: string }).param, 'tools[0].type');
    const itemError = await client.responses
      .create({
        model: 'gpt_chat',
        input: [{ type: 'computer_call_output', call_id: 'c', output: {} }],
      } as never)
      .catch((caught: unknown) => caught);
    assert.ok(itemError instanceof OpenAI.BadRequestError);
    assert.equal((itemError.error as { param?: string }).param, 'input[0].type');
  });

  test('item_reference stands for a stored output item; an unknown one is a 404 naming it', async () => {
    const first = await client.responses.create({ model: 'gpt_chat', input: 'refer to me' });
    const message = first.output.find((item) => item.type === 'message');
    assert.ok(message?.id);
    await client.responses.create({
      model: 'gpt_chat',
      input: [
        { role: 'user', content: 'refer to me' },
        { type: 'item_reference', id: message.id },
        { role: 'user', content: 'and then' },
      ],
    });
    const sent = lastChatBody(gateway.upstream).messages as SentMessage[];
    assert.deepEqual(
      sent.map((entry) => [entry.role, entry.content]),
      [
        ['user', 'refer to me'],
        ['assistant', 'echo: refer to me'],
        ['user', 'and then'],
      ],
    );
    const missing = await client.responses
      .create({ model: 'gpt_chat', input: [{ type: 'item_reference', id: `msg_${'0'.repeat(32)}_0` }] })
      .catch((caught: unknown) => caught);
    assert.ok(missing instanceof OpenAI.NotFoundError);
    assert.equal((missing.error as { param?: string }).param, 'input[0].id');
  });
});

function outputText(response: OpenAI.Responses.Response | undefined): string {
  return (response?.output ?? [])
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('');
}
