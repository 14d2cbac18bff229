/**
 * Chat text that looks like one of Byzer-LLM's JSON task messages stays chat on a chat deployment,
 * through the gateway too (it used to be taken for an image task and fail).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { type Gateway, startGateway } from './gateway-fixture.js';

let gateway: Gateway;

before(async () => {
  gateway = await startGateway();
});
after(() => gateway.close());

test('a JSON user message with an "input" key is answered as chat, plain and streamed', async () => {
  const client = new OpenAI({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
  const content = '{"input":"summarise me","lang":"en"}';
  const completion = await client.chat.completions.create({
    model: 'gpt_chat',
    messages: [{ role: 'user', content }],
  });
  assert.equal(completion.choices[0]?.message.content, `echo: ${content}`);
  const stream = await client.chat.completions.create({
    model: 'gpt_chat',
    messages: [{ role: 'user', content }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  assert.equal(text, `echo: ${content}`);
});
