/**
 * The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`), unchanged, against the gateway:
 * `generateText`, `streamText`, tools and JSON-schema output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, Output, streamText, tool } from 'ai';
import { type Gateway, lastChatBody, startGateway } from './gateway-fixture.js';

describe('gateway with the AI SDK', () => {
  let gateway: Gateway;
  let provider: ReturnType<typeof createOpenAICompatible>;

  before(async () => {
    gateway = await startGateway({
      upstream: {
        reply: (text) => (text.startsWith('json') ? JSON.stringify({ answer: 42 }) : `echo: ${text}`),
      },
      server: { apiKey: 'gateway-key' },
    });
    provider = createOpenAICompatible({
      name: 'byzerllm',
      baseURL: gateway.url,
      apiKey: 'gateway-key',
      includeUsage: true,
      supportsStructuredOutputs: true,
    });
  });
  after(() => gateway.close());

  test('generateText', async () => {
    const result = await generateText({
      model: provider.chatModel('gpt_chat'),
      prompt: 'hello ai',
      maxRetries: 0,
    });
    assert.equal(result.text, 'echo: hello ai');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.outputTokens, 3);
  });

  test('streamText', async () => {
    const result = streamText({ model: provider.chatModel('gpt_chat'), prompt: 'stream ai', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'echo: stream ai');
    assert.equal((await result.usage).outputTokens, 3);
  });

  test('tools: the model calls the tool and the SDK runs it', async () => {
    let called: unknown;
    const result = await generateText({
      model: provider.chatModel('gpt_chat'),
      prompt: 'tool:lookup now',
      maxRetries: 0,
      tools: {
        lookup: tool({
          description: 'look it up',
          inputSchema: jsonSchema<{ text: string }>({
            type: 'object',
            properties: { text: { type: 'string' } },
            required: ['text'],
          }),
          execute: async (input) => {
            called = input;
            return 'found';
          },
        }),
      },
    });
    assert.deepEqual(called, { text: 'tool:lookup now' });
    assert.equal(result.toolCalls[0]?.toolName, 'lookup');
    assert.equal(result.toolResults[0]?.output, 'found');
  });

  test('JSON-schema output', async () => {
    const result = await generateText({
      model: provider.chatModel('gpt_chat'),
      prompt: 'json answer',
      maxRetries: 0,
      output: Output.object({
        schema: jsonSchema<{ answer: number }>({
          type: 'object',
          properties: { answer: { type: 'number' } },
          required: ['answer'],
        }),
      }),
    });
    assert.deepEqual(result.output, { answer: 42 });
    const format = lastChatBody(gateway.upstream).response_format as { type: string };
    assert.equal(format.type, 'json_schema');
  });

  test('an unknown model fails with the gateway message', async () => {
    await assert.rejects(
      generateText({ model: provider.chatModel('missing_model'), prompt: 'x', maxRetries: 0 }),
      /no deployment named missing_model; deployed: gpt_chat/,
    );
  });
});
