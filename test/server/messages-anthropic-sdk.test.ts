/**
 * The official `@anthropic-ai/sdk`, unchanged, against the gateway's `/v1/messages`: plain, stream
 * (the typed events and the SDK's message accumulation), tools with the tool_result round trip,
 * system blocks, `x-api-key` and Bearer auth, Anthropic error bodies, and `count_tokens`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

type SentMessage = { role: string; content: unknown; tool_calls?: { id: string }[]; tool_call_id?: string };

const lookupTool: Anthropic.Tool = {
  name: 'lookup',
  description: 'look a word up',
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

describe('gateway /v1/messages with the Anthropic SDK', () => {
  let gateway: Gateway;
  let client: Anthropic;

  before(async () => {
    gateway = await startGateway({ server: { apiKey: 'gateway-key' } });
    client = new Anthropic({ baseURL: gateway.origin, apiKey: 'gateway-key', maxRetries: 0 });
  });
  after(() => gateway.close());

  test('plain: system blocks, max_tokens and the message shape', async () => {
    const message = await client.messages.create({
      model: 'gpt_chat',
      max_tokens: 64,
      system: [{ type: 'text', text: 'be brief' }],
      messages: [{ role: 'user', content: 'hello claude' }],
      stop_sequences: ['END'],
    });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.model, 'gpt_chat');
    assert.deepEqual(message.content, [{ type: 'text', text: 'echo: hello claude', citations: null }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 3);
    assert.match(message._request_id ?? '', /^req_/);
    const sent = lastChatBody(gateway.upstream);
    assert.deepEqual(
      (sent.messages as SentMessage[]).map((entry) => [entry.role, entry.content]),
      [
        ['system', 'be brief'],
        ['user', 'hello claude'],
      ],
    );
    assert.equal(sent.max_tokens ?? sent.max_completion_tokens, 64);
    assert.deepEqual(sent.stop, ['END']);
  });

  test('stream: events in order, and the SDK assembles the final message', async () => {
    const stream = await client.messages.create({
      model: 'gpt_chat',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream claude' }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    assert.equal(text, 'echo: stream claude');
    assert.deepEqual(
      types.filter((type) => type !== 'content_block_delta'),
      ['message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop'],
    );

    const helper = client.messages.stream({
      model: 'gpt_chat',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'helper claude' }],
    });
    const final = await helper.finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'echo: helper claude', citations: null }]);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, 3);
  });

  test('tools: tool_use comes back, stream and not, and tool_result goes upstream as a tool message', async () => {
    const message = await client.messages.create({
      model: 'gpt_chat',
      max_tokens: 64,
      tools: [lookupTool],
      tool_choice: { type: 'tool', name: 'lookup' },
      messages: [{ role: 'user', content: 'tool:lookup cats' }],
    });
    assert.equal(message.stop_reason, 'tool_use');
    const use = message.content.find((block) => block.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.equal(use.name, 'lookup');
    assert.deepEqual(use.input, { text: 'tool:lookup cats' });
    const sent = lastChatBody(gateway.upstream);
    assert.deepEqual(sent.tool_choice, { type: 'function', function: { name: 'lookup' } });

    const streamed = await client.messages
      .stream({
        model: 'gpt_chat',
        max_tokens: 64,
        tools: [lookupTool],
        messages: [{ role: 'user', content: 'tool:lookup dogs' }],
      })
      .finalMessage();
    const streamedUse = streamed.content.find((block) => block.type === 'tool_use');
    assert.deepEqual(streamedUse?.type === 'tool_use' ? streamedUse.input : undefined, {
      text: 'tool:lookup dogs',
    });
    assert.equal(streamed.stop_reason, 'tool_use');

    await client.messages.create({
      model: 'gpt_chat',
      max_tokens: 64,
      tools: [lookupTool],
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: use.id, name: 'lookup', input: { text: 'x' } }],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'sunny' }] },
            { type: 'text', text: 'and tomorrow?' },
          ],
        },
      ],
    });
    const messages = lastChatBody(gateway.upstream).messages as SentMessage[];
    assert.deepEqual(
      messages.map((entry) => entry.role),
      ['user', 'assistant', 'tool', 'user'],
    );
    assert.equal(messages[1]?.tool_calls?.[0]?.id, use.id);
    assert.equal(messages[2]?.tool_call_id, use.id);
    assert.equal(messages[2]?.content, 'sunny');
    assert.equal(messages[3]?.content, 'and tomorrow?');
  });

  test('auth: Bearer works too; a wrong key is an Anthropic authentication_error', async () => {
    const bearer = new Anthropic({
      baseURL: gateway.origin,
      apiKey: null,
      authToken: 'gateway-key',
      maxRetries: 0,
    });
    const message = await bearer.messages.create({
      model: 'gpt_chat',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'bearer' }],
    });
    assert.deepEqual(message.content, [{ type: 'text', text: 'echo: bearer', citations: null }]);

    const wrong = new Anthropic({ baseURL: gateway.origin, apiKey: 'wrong', maxRetries: 0 });
    const error = await wrong.messages
      .create({ model: 'gpt_chat', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof Anthropic.AuthenticationError);
    assert.deepEqual(error.error, {
      type: 'error',
      error: {
        type: 'authentication_error',
        message: 'missing or wrong API key: send Authorization: Bearer <key>',
      },
    });
  });

  test('errors: unknown model is not_found_error, bad fields are invalid_request_error', async () => {
    const missing = await client.messages
      .create({ model: 'no_such_model', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    assert.ok(missing instanceof Anthropic.NotFoundError);
    assert.equal((missing.error as { error: { type: string } }).error.type, 'not_found_error');
    const invalid = await client.messages
      .create({
        model: 'gpt_chat',
        max_tokens: 16,
        messages: [
          {
            role: 'user',
            content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }],
          },
        ],
      })
      .catch((caught: unknown) => caught);
    assert.ok(invalid instanceof Anthropic.BadRequestError);
    assert.match((invalid.error as { error: { message: string } }).error.message, /document/);

    const response = await fetch(`${gateway.origin}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'gateway-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt_chat', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.match(body.error.message, /anthropic-version/);
  });

  test('thinking is answered with a warning header; Anthropic-hosted MCP servers are refused', async () => {
    const { data, response } = await client.messages
      .create({
        model: 'gpt_chat',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'think' }],
      })
      .withResponse();
    assert.equal(data.stop_reason, 'end_turn');
    assert.match(response.headers.get('x-byzerllm-warnings') ?? '', /thinking/);
    const refused = await fetch(`${gateway.origin}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'gateway-key',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'gpt_chat',
        max_tokens: 8,
        mcp_servers: [{ type: 'url', url: 'https://example.invalid/mcp', name: 'x' }],
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /mcp_servers/);
  });

  test('count_tokens answers an estimate for an existing deployment', async () => {
    const short = await client.messages.countTokens({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const long = await client.messages.countTokens({
      model: 'gpt_chat',
      system: 'a much longer system prompt than before',
      tools: [lookupTool],
      messages: [{ role: 'user', content: 'hi there, how are you today?' }],
    });
    assert.ok(short.input_tokens > 0);
    assert.ok(long.input_tokens > short.input_tokens + 10);
    const missing = await client.messages
      .countTokens({ model: 'no_such_model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);
    assert.ok(missing instanceof Anthropic.NotFoundError);
  });
});
