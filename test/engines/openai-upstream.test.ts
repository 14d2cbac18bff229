/**
 * Proves the local OpenAI stand-in faithful: the official `openai` SDK (v6) talks to it for chat,
 * streaming (including the `.stream()` helper assembling tool calls), embeddings in both encodings,
 * models and errors. Also runs the stand-in as its own process, as CLI tests do.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import OpenAI from 'openai';
import { embeddingOf } from '../support/openai-upstream-answers.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

async function withSdk(body: (client: OpenAI, upstream: OpenAIUpstream) => Promise<void>): Promise<void> {
  const upstream = await startOpenAIUpstream();
  const client = new OpenAI({ apiKey: upstream.apiKey, baseURL: upstream.url, maxRetries: 0 });
  try {
    await body(client, upstream);
  } finally {
    await upstream.close();
  }
}

test('openai SDK: chat completion', () =>
  withSdk(async (client, upstream) => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: hello there');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.equal(completion.model, 'gpt-4o-mini');
    assert.deepEqual(completion.usage, { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    assert.equal(upstream.requests[0]?.headers.authorization, `Bearer ${upstream.apiKey}`);
  }));

test('openai SDK: streaming with usage, and the stream helper assembling a tool call', () =>
  withSdk(async (client) => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'count to three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'echo: count to three');
    assert.equal(usage?.completion_tokens, 4);

    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'tool:lookup reason: find it' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'lookup');
    assert.deepEqual(JSON.parse(call.function.arguments), { text: 'tool:lookup reason: find it' });
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  }));

test('openai SDK: embeddings as base64 (the SDK default) and as floats', () =>
  withSdk(async (client, upstream) => {
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b c'] });
    assert.deepEqual(upstream.requests[0]?.body, {
      model: 'text-embedding-3-small',
      input: ['a', 'b c'],
      encoding_format: 'base64',
    });
    assert.deepEqual(
      decoded.data.map((item) => item.embedding),
      [embeddingOf('a', 8), embeddingOf('b c', 8)],
    );
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'a',
      encoding_format: 'float',
      dimensions: 3,
    });
    assert.deepEqual(floats.data[0]?.embedding, embeddingOf('a', 3));
    assert.equal(floats.usage.prompt_tokens, 1);
  }));

test('openai SDK: models list, and errors surface as the SDK error classes', () =>
  withSdk(async (client, upstream) => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((model) => model.id),
      ['gpt-3.5-turbo', 'text-embedding-3-small'],
    );
    const wrongKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: upstream.url, maxRetries: 0 });
    await assert.rejects(
      wrongKey.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof OpenAI.AuthenticationError && error.code === 'invalid_api_key',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'fail:429' }] }),
      (error: unknown) => error instanceof OpenAI.RateLimitError && error.headers.get('retry-after') === '0',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'fail:500' }] }),
      (error: unknown) => error instanceof OpenAI.InternalServerError,
    );
  }));

test('the stand-in records requests and counts in-flight and abandoned requests', async () => {
  const upstream = await startOpenAIUpstream();
  const client = new OpenAI({ apiKey: upstream.apiKey, baseURL: upstream.url, maxRetries: 0 });
  try {
    const controller = new AbortController();
    const pending = client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'delay:5000 slow' }] },
      { signal: controller.signal },
    );
    await upstream.waitUntil(() => upstream.inFlight() === 1);
    controller.abort();
    await assert.rejects(pending);
    await upstream.waitUntil(() => upstream.abortedCount() === 1);
    assert.equal(upstream.inFlight(), 0);
    assert.equal(upstream.peakInFlight(), 1);
    assert.equal(upstream.requests[0]?.path, '/v1/chat/completions');
    upstream.reset();
    assert.equal(upstream.requests.length, 0);
    assert.equal(upstream.abortedCount(), 0);
  } finally {
    await upstream.close();
  }
});

const mainPath = fileURLToPath(new URL('../support/openai-upstream-main.js', import.meta.url));

test('the stand-in runs as its own process: prints its URL, serves, stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [mainPath, '--port', '0', '--api-key', 'sk-process'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const announced = JSON.parse(line) as { url: string; port: number; apiKey: string };
    assert.equal(announced.url, `http://127.0.0.1:${announced.port}/v1`);
    const client = new OpenAI({ apiKey: 'sk-process', baseURL: announced.url, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'ping' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'echo: ping');
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('without --port the process does not serve: usage error, or a quiet exit under the test runner', async () => {
  const { NODE_TEST_CONTEXT: _ignored, ...environment } = process.env;
  const plain = spawn(process.execPath, [mainPath], { stdio: 'ignore', env: environment });
  assert.deepEqual(await once(plain, 'exit'), [2, null]);
  const underRunner = spawn(process.execPath, [mainPath], {
    stdio: 'ignore',
    env: { ...environment, NODE_TEST_CONTEXT: 'child' },
  });
  assert.deepEqual(await once(underRunner, 'exit'), [0, null]);
});
