/**
 * The stand-ins are faithful: the vendors' official SDKs (`@anthropic-ai/sdk`, `@google/genai`;
 * Bedrock's is the engine's own client) talk to them and get what they expect, streaming included.
 * If a stand-in drifted from the real protocol, these would fail before the engine tests lie.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { startAnthropicUpstream } from '../support/anthropic-upstream.js';
import { startGeminiUpstream } from '../support/gemini-upstream.js';
import { embeddingOf } from '../support/openai-upstream-answers.js';

const KEY = 'sdk-check-key-123';

test('@anthropic-ai/sdk: messages.create, messages.stream, tool use and typed errors against the Anthropic stand-in', async () => {
  const upstream = await startAnthropicUpstream(KEY);
  try {
    const client = new Anthropic({ apiKey: KEY, baseURL: upstream.url, maxRetries: 0 });
    const message = await client.messages.create({
      model: 'claude-3-5-sonnet-20240620',
      max_tokens: 100,
      system: 'be brief',
      messages: [{ role: 'user', content: 'hello sdk' }],
    });
    assert.deepEqual(message.content, [{ type: 'text', text: 'echo: hello sdk' }]);
    assert.equal(message.stop_reason, 'end_turn');
    const stream = client.messages.stream({
      model: 'claude-3-5-sonnet-20240620',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'tool:lookup stream please' }],
      tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
    });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const final = await stream.finalMessage();
    assert.equal(deltas.join(''), 'echo: tool:lookup stream please');
    assert.ok(deltas.length > 1);
    const toolUse = final.content.find((block) => block.type === 'tool_use');
    assert.deepEqual(toolUse?.type === 'tool_use' ? toolUse.input : undefined, {
      text: 'tool:lookup stream please',
    });
    await assert.rejects(
      client.messages.create({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'fail:529' }],
      }),
      (error: unknown) => error instanceof Anthropic.APIError && error.status === 529,
    );
    await assert.rejects(
      client.messages.create({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'fail:429' }],
      }),
      Anthropic.RateLimitError,
    );
    const wrongKey = new Anthropic({ apiKey: 'wrong', baseURL: upstream.url, maxRetries: 0 });
    await assert.rejects(
      wrongKey.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      Anthropic.AuthenticationError,
    );
  } finally {
    await upstream.close();
  }
});

test('@google/genai: generateContent, generateContentStream and embedContent against the Gemini stand-in', async () => {
  const upstream = await startGeminiUpstream(KEY);
  try {
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: upstream.url } });
    const response = await ai.models.generateContent({
      model: 'gemini-2.0-flash',
      contents: 'hello genai',
      config: { systemInstruction: 'be brief', maxOutputTokens: 50 },
    });
    assert.equal(response.text, 'echo: hello genai');
    assert.equal(response.usageMetadata?.promptTokenCount, 2);
    const pieces: string[] = [];
    for await (const chunk of await ai.models.generateContentStream({
      model: 'gemini-2.0-flash',
      contents: 'stream three words',
    })) {
      pieces.push(chunk.text ?? '');
    }
    assert.equal(pieces.join(''), 'echo: stream three words');
    assert.ok(pieces.length > 1);
    const embedded = await ai.models.embedContent({
      model: 'text-embedding-004',
      contents: ['alpha', 'beta'],
    });
    assert.deepEqual(
      embedded.embeddings?.map((embedding) => embedding.values),
      [embeddingOf('alpha', 8), embeddingOf('beta', 8)],
    );
    const wrongKey = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: upstream.url } });
    await assert.rejects(
      wrongKey.models.generateContent({ model: 'gemini-2.0-flash', contents: 'x' }),
      /API key not valid/,
    );
  } finally {
    await upstream.close();
  }
});
