/**
 * `n > 1` with `stream: true` on chat completions, read by the official `openai` SDK: every chunk
 * names its choice, each choice finishes with its own finish_reason, the usage counts the prompt
 * once, and the SDK's stream helper assembles all choices.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type Gateway, startGateway } from './gateway-fixture.js';

describe('chat completions with n > 1 and stream: true', () => {
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway();
    client = new OpenAI({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => gateway.close());

  test('choices are indexed, each finishes, usage sums the completions', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'three times' }],
      n: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts = ['', '', ''];
    const finishes: (string | null)[] = [null, null, null];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? '';
        if (choice.finish_reason) {
          assert.equal(finishes[choice.index], null, 'one finish per choice');
          finishes[choice.index] = choice.finish_reason;
        }
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.deepEqual(texts, ['echo: three times', 'echo: three times', 'echo: three times']);
    assert.deepEqual(finishes, ['stop', 'stop', 'stop']);
    assert.equal(usage?.completion_tokens, 9);
    const calls = gateway.upstream.requests.filter((request) => request.path === '/v1/chat/completions');
    assert.equal(calls.length, 3, 'one engine call per choice');
    const single = await client.chat.completions.create({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'three times' }],
    });
    assert.ok((single.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(usage?.prompt_tokens, single.usage?.prompt_tokens, 'the prompt counts once');
  });

  test('the SDK stream helper assembles every choice, tool calls included', async () => {
    const final = await client.chat.completions
      .stream({
        model: 'gpt_chat',
        messages: [{ role: 'user', content: 'tool:lookup twice' }],
        n: 2,
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              parameters: { type: 'object', properties: { text: { type: 'string' } } },
            },
          },
        ],
      })
      .finalChatCompletion();
    assert.equal(final.choices.length, 2);
    for (const [index, choice] of final.choices.entries()) {
      assert.equal(choice.index, index);
      assert.equal(choice.finish_reason, 'tool_calls');
      const call = choice.message.tool_calls?.[0];
      assert.equal(call?.type === 'function' ? call.function.name : undefined, 'lookup');
    }
  });

  test('a choice failing to start fails the request before any chunk', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt_chat', messages: [{ role: 'user', content: 'fail:400' }], n: 2, stream: true })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof OpenAI.BadRequestError);
  });
});
