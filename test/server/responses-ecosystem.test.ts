/**
 * Clients nobody here wrote, unchanged, on their Responses API paths against the gateway: the AI
 * SDK's default OpenAI provider (`openai('model')` speaks Responses), LangChain's ChatOpenAI with
 * `useResponsesApi: true`, and LlamaIndex's `OpenAIResponses`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { OpenAIResponses } from '@llamaindex/openai';
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

describe('gateway /v1/responses with the AI SDK, LangChain and LlamaIndex', () => {
  let gateway: Gateway;

  before(async () => {
    gateway = await startGateway({
      upstream: {
        reply: (text) => (text.startsWith('json') ? JSON.stringify({ answer: 42 }) : `echo: ${text}`),
        // Asked about the weather, the model calls the tool first, then answers from its result.
        replyToolCall: (request) => {
          const messages = request.messages as { role: string; content: unknown }[];
          const last = messages.at(-1);
          return last?.role === 'user' && JSON.stringify(last.content).includes('weather')
            ? { name: 'weather', arguments: '{"city":"Paris"}' }
            : undefined;
        },
      },
      server: { apiKey: 'gateway-key' },
    });
  });
  after(() => gateway.close());

  function responsesPaths(): number {
    return gateway.upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
  }

  test('AI SDK default provider: generateText, streamText, tools and structured output', async () => {
    const openai = createOpenAI({ baseURL: gateway.url, apiKey: 'gateway-key' });
    const before = responsesPaths();
    const generated = await generateText({ model: openai('gpt_chat'), prompt: 'hello ai', maxRetries: 0 });
    assert.equal(generated.text, 'echo: hello ai');
    assert.equal(generated.finishReason, 'stop');
    assert.equal(generated.usage.outputTokens, 3);
    assert.equal(responsesPaths(), before + 1, 'one chat call upstream per response');

    const streamed = streamText({ model: openai('gpt_chat'), prompt: 'stream ai', maxRetries: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(text, 'echo: stream ai');
    assert.equal((await streamed.usage).outputTokens, 3);

    const withTool = await generateText({
      model: openai('gpt_chat'),
      prompt: 'tool:lookup cats',
      maxRetries: 0,
      tools: {
        lookup: tool({
          description: 'look a word up',
          inputSchema: jsonSchema<{ text: string }>({
            type: 'object',
            properties: { text: { type: 'string' } },
            required: ['text'],
          }),
        }),
      },
    });
    assert.equal(withTool.finishReason, 'tool-calls');
    assert.equal(withTool.toolCalls[0]?.toolName, 'lookup');
    assert.deepEqual(withTool.toolCalls[0]?.input, { text: 'tool:lookup cats' });

    const structured = await generateText({
      model: openai('gpt_chat'),
      prompt: 'json answer',
      maxRetries: 0,
      output: Output.object({
        schema: jsonSchema<{ answer: number }>({
          type: 'object',
          properties: { answer: { type: 'number' } },
          required: ['answer'],
          additionalProperties: false,
        }),
      }),
    });
    assert.deepEqual(structured.output, { answer: 42 });
    const format = lastChatBody(gateway.upstream).response_format as { type: string };
    assert.equal(format.type, 'json_schema');
  });

  test('AI SDK tool loop: the second step refers to stored items (item_reference) and continues', async () => {
    const openai = createOpenAI({ baseURL: gateway.url, apiKey: 'gateway-key' });
    const result = await generateText({
      model: openai('gpt_chat'),
      prompt: 'what is the weather',
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: {
        weather: tool({
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
          execute: async ({ city }) => `sunny in ${city}`,
        }),
      },
    });
    assert.equal(result.steps.length, 2);
    assert.equal(result.text, 'echo: what is the weather');
    const sent = lastChatBody(gateway.upstream).messages as {
      role: string;
      content: unknown;
      tool_calls?: { id: string; function: { name: string } }[];
      tool_call_id?: string;
    }[];
    assert.deepEqual(
      sent.map((message) => message.role),
      ['user', 'assistant', 'tool'],
    );
    assert.equal(sent[1]?.tool_calls?.[0]?.function.name, 'weather');
    assert.equal(sent[2]?.tool_call_id, sent[1]?.tool_calls?.[0]?.id);
    assert.equal(sent[2]?.content, 'sunny in Paris');
  });

  test('LangChain ChatOpenAI with useResponsesApi: invoke, stream, tools', async () => {
    const model = new ChatOpenAI({
      model: 'gpt_chat',
      apiKey: 'gateway-key',
      configuration: { baseURL: gateway.url },
      useResponsesApi: true,
      maxRetries: 0,
    });
    const answer = await model.invoke('hello langchain');
    assert.equal(answer.text, 'echo: hello langchain');
    assert.equal(answer.usage_metadata?.output_tokens, 3);
    // LangChain keeps the response id it got, the mark of the Responses path.
    assert.match(String(answer.response_metadata.id ?? answer.id), /^resp_/);

    let streamed = '';
    for await (const chunk of await model.stream('stream langchain')) streamed += chunk.text;
    assert.equal(streamed, 'echo: stream langchain');

    const withTools = model.bindTools([
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: 'look a word up',
          parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        },
      },
    ]);
    const called = await withTools.invoke('tool:lookup dogs');
    assert.equal(called.tool_calls?.[0]?.name, 'lookup');
    assert.deepEqual(called.tool_calls?.[0]?.args, { text: 'tool:lookup dogs' });
  });

  test('LlamaIndex OpenAIResponses: chat and stream', async () => {
    const llm = new OpenAIResponses({
      model: 'gpt_chat',
      apiKey: 'gateway-key',
      baseURL: gateway.url,
      maxRetries: 0,
    });
    const answer = await llm.chat({ messages: [{ role: 'user', content: 'hello llamaindex' }] });
    assert.equal(answer.message.content, 'echo: hello llamaindex');

    const stream = await llm.chat({
      messages: [{ role: 'user', content: 'stream llamaindex' }],
      stream: true,
    });
    // @llamaindex/openai 0.4.23 keeps the last text delta in every later chunk (its stream state
    // is never reset), so against OpenAI too the text is read from the text-delta events' chunks.
    let text = '';
    const types: string[] = [];
    for await (const chunk of stream) {
      const type = (chunk.raw as { type: string }).type;
      types.push(type);
      if (type === 'response.output_text.delta') text += chunk.delta;
    }
    assert.equal(text, 'echo: stream llamaindex');
    assert.equal(types.at(-1), 'response.completed');
  });
});
