/**
 * The `saas/openai` engine against the local OpenAI stand-in: the shared chat conformance suite,
 * then exactly what the engine sends, how it reads answers, retries, timeouts and parameters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamPart } from '../../src/core/chat-model.js';
import { collectStream } from '../../src/core/chat-model.js';
import { ByzerLLMError } from '../../src/core/errors.js';
import { embeddingOf } from '../support/openai-upstream-answers.js';
import { startOpenAIUpstream } from '../support/openai-upstream.js';
import { runChatModelConformance } from './chat-conformance.js';
import { API_KEY, ask, createEngine, sentBody, withEngine } from './openai-engine-fixture.js';

runChatModelConformance('saas/openai', async (setup) => {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
  const engine = await createEngine({
    'saas.api_key': API_KEY,
    'saas.base_url': setup.unreachableBaseUrl ?? upstream.url,
    'saas.max_retries': '0',
  });
  return {
    model: engine.chat!,
    apiKey: API_KEY,
    whenUpstreamAborted: (count) => upstream.waitUntil(() => upstream.abortedCount() >= count),
    close: async () => {
      await engine.dispose();
      await upstream.close();
    },
  };
});

test('doGenerate sends the OpenAI request: auth header, model, messages and only the set fields', () =>
  withEngine(async (engine, upstream) => {
    await engine.chat!.doGenerate(ask('hi'));
    const request = upstream.requests[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(request.body, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] });

    await engine.chat!.doGenerate(
      ask('hi', {
        maxTokens: 64,
        temperature: 0.2,
        topP: 0.9,
        stop: ['\n\n'],
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
      }),
    );
    const body = sentBody(upstream);
    assert.equal(body.max_tokens, 64);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.top_p, 0.9);
    assert.deepEqual(body.stop, ['\n\n']);
    assert.equal(body.seed, 7);
    assert.equal(body.presence_penalty, 0.5);
    assert.equal(body.frequency_penalty, 0.25);
    assert.equal('stream' in body, false);
  }));

test('doStream asks for usage with stream_options.include_usage', () =>
  withEngine(async (engine, upstream) => {
    await collectStream(await engine.chat!.doStream(ask('hi')));
    const request = upstream.requests[0]!;
    assert.equal(request.headers.accept, 'text/event-stream');
    const body = sentBody(upstream);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
  }));

test('image and audio parts become image_url and input_audio parts', () =>
  withEngine(async (engine, upstream) => {
    await engine.chat!.doGenerate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' },
            { type: 'image', url: 'https://example.com/cat.jpg' },
            { type: 'audio', url: 'data:audio/mpeg;base64,SUQz' },
          ],
        },
      ],
    });
    assert.deepEqual(sentBody(upstream).messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'input_audio', input_audio: { data: 'SUQz', format: 'mp3' } },
        ],
      },
    ]);
  }));

test('tools, tool choice, tool calls and tool results map to OpenAI function tools', () =>
  withEngine(async (engine, upstream) => {
    const tools = [{ name: 'get_weather', description: 'weather by city', parameters: { type: 'object' } }];
    const generated = await engine.chat!.doGenerate(
      ask('tool:get_weather Paris', { tools, toolChoice: { name: 'get_weather' } }),
    );
    assert.equal(generated.finishReason, 'tool-calls');
    assert.equal(generated.text, '');
    assert.deepEqual(generated.toolCalls, [
      {
        id: 'call_test_1',
        name: 'get_weather',
        arguments: JSON.stringify({ text: 'tool:get_weather Paris' }),
      },
    ]);
    const body = sentBody(upstream);
    assert.deepEqual(body.tools, [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'weather by city', parameters: { type: 'object' } },
      },
    ]);
    assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'get_weather' } });

    const streamed = await collectStream(
      await engine.chat!.doStream(ask('tool:get_weather Paris', { tools })),
    );
    assert.equal(streamed.finishReason, 'tool-calls');
    assert.deepEqual(streamed.toolCalls, [
      {
        id: 'call_test_2',
        name: 'get_weather',
        arguments: JSON.stringify({ text: 'tool:get_weather Paris' }),
      },
    ]);

    await engine.chat!.doGenerate({
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: '', toolCalls: generated.toolCalls },
        { role: 'tool', toolCallId: 'call_test_1', content: '{"celsius":21}' },
      ],
      toolChoice: 'auto',
    });
    const followUp = sentBody(upstream);
    assert.equal(followUp.tool_choice, 'auto');
    assert.deepEqual((followUp.messages as unknown[]).slice(1), [
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_test_1',
            type: 'function',
            function: { name: 'get_weather', arguments: JSON.stringify({ text: 'tool:get_weather Paris' }) },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_test_1', content: '{"celsius":21}' },
    ]);
  }));

test('reasoning_content is returned as reasoning, streamed as reasoning-delta parts', () =>
  withEngine(async (engine) => {
    const generated = await engine.chat!.doGenerate(ask('reason: why'));
    assert.equal(generated.reasoning, 'thinking about: reason: why');
    assert.equal(generated.text, 'echo: reason: why');
    const parts: StreamPart[] = [];
    for await (const part of await engine.chat!.doStream(ask('reason: why'))) parts.push(part);
    const reasoning = parts.map((part) => (part.type === 'reasoning-delta' ? part.delta : '')).join('');
    assert.equal(reasoning, generated.reasoning);
    const firstText = parts.findIndex((part) => part.type === 'text-delta');
    const lastReasoning = parts.findLastIndex((part) => part.type === 'reasoning-delta');
    assert.ok(lastReasoning < firstText, 'reasoning comes before the answer');
  }));

test('an assistant prefix becomes prefix: true on the last message; elsewhere it is rejected', () =>
  withEngine(async (engine, upstream) => {
    await engine.chat!.doGenerate({
      messages: [
        { role: 'user', content: 'write a poem' },
        { role: 'assistant', content: 'Roses are', prefix: true },
      ],
    });
    assert.deepEqual((sentBody(upstream).messages as unknown[])[1], {
      role: 'assistant',
      content: 'Roses are',
      prefix: true,
    });
    await assert.rejects(
      engine.chat!.doGenerate({
        messages: [
          { role: 'assistant', content: 'Roses are', prefix: true },
          { role: 'user', content: 'go on' },
        ],
      }),
      (error: unknown) => error instanceof ByzerLLMError && error.code === 'invalid_argument',
    );
    assert.equal(upstream.requests.length, 1, 'the invalid request was not sent');
  }));

test('response formats: json_schema with a schema, json_object without', () =>
  withEngine(async (engine, upstream) => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await engine.chat!.doGenerate(ask('json', { responseFormat: { type: 'json', schema, name: 'answer' } }));
    assert.deepEqual(sentBody(upstream).response_format, {
      type: 'json_schema',
      json_schema: { name: 'answer', schema, strict: false },
    });
    await engine.chat!.doGenerate(ask('json', { responseFormat: { type: 'json' } }));
    assert.deepEqual(sentBody(upstream).response_format, { type: 'json_object' });
    await engine.chat!.doGenerate(ask('text', { responseFormat: { type: 'text' } }));
    assert.equal('response_format' in sentBody(upstream), false);
  }));

test('extra is merged into the body last, undefined values skipped; topK is a warning', () =>
  withEngine(async (engine, upstream) => {
    const result = await engine.chat!.doGenerate(
      ask('hi', {
        temperature: 0.9,
        topK: 5,
        extra: { temperature: 0.1, top_k: 5, enable_search: true, skipped: undefined },
      }),
    );
    const body = sentBody(upstream);
    assert.equal(body.temperature, 0.1);
    assert.equal(body.top_k, 5);
    assert.equal(body.enable_search, true);
    assert.equal('skipped' in body, false);
    assert.deepEqual(
      result.warnings.map((warning) => warning.setting),
      ['topK'],
    );
    const streamed = await collectStream(await engine.chat!.doStream(ask('hi', { topK: 5 })));
    assert.deepEqual(
      streamed.warnings.map((warning) => warning.setting),
      ['topK'],
    );
  }));

test('saas.model, saas.headers and a trailing slash on saas.base_url', async () => {
  const upstream = await startOpenAIUpstream({ apiKey: API_KEY });
  const engine = await createEngine({
    'saas.api_key': API_KEY,
    'saas.base_url': `${upstream.url}/`,
    'saas.model': 'deepseek-chat',
    'saas.headers': '{"X-Title":"byzerllm-test","HTTP-Referer":"https://example.com"}',
  });
  try {
    const result = await engine.chat!.doGenerate(ask('hi'));
    assert.equal(result.modelId, 'deepseek-chat');
    const request = upstream.requests[0]!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal((request.body as { model: string }).model, 'deepseek-chat');
    assert.equal(request.headers['x-title'], 'byzerllm-test');
    assert.equal(request.headers['http-referer'], 'https://example.com');
    assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
});

test('embeddings send encoding_format float and dimensions, and come back ordered by index', () =>
  withEngine(
    async (engine, upstream) => {
      const result = await engine.embedding!.doEmbed({
        values: ['alpha', 'beta gamma', 'delta'],
        dimensions: 4,
      });
      const request = upstream.requests[0]!;
      assert.equal(request.path, '/v1/embeddings');
      assert.deepEqual(request.body, {
        model: 'text-embedding-3-small',
        input: ['alpha', 'beta gamma', 'delta'],
        encoding_format: 'float',
        dimensions: 4,
      });
      assert.deepEqual(result.embeddings, [
        embeddingOf('alpha', 4),
        embeddingOf('beta gamma', 4),
        embeddingOf('delta', 4),
      ]);
      assert.equal(result.usage.inputTokens, 4);
      assert.deepEqual(await engine.embedding!.doEmbed({ values: [] }), {
        embeddings: [],
        usage: { inputTokens: 0 },
      });
      assert.equal(upstream.requests.length, 1, 'an empty batch is not sent');
    },
    { 'saas.model': 'text-embedding-3-small' },
    { reverseEmbeddings: true },
  ));

test('meta describes a SaaS chat+embedding model; embedding_mode follows the model name', async () => {
  const chat = await createEngine({ 'saas.api_key': API_KEY });
  const embedding = await createEngine({ 'saas.api_key': API_KEY, 'saas.model': 'text-embedding-3-small' });
  try {
    assert.deepEqual(chat.meta, {
      model_deploy_type: 'saas',
      backend: 'saas',
      model_name: 'gpt-3.5-turbo',
      support_stream: true,
      support_chat_template: true,
      message_format: true,
      support_assistant_prefix: true,
      embedding_mode: false,
      tasks: ['chat', 'embedding', 'speech', 'transcription', 'image'],
      primary_task: 'chat',
      support_tools: true,
      support_response_format: true,
      support_vision: false,
    });
    assert.equal(embedding.meta.embedding_mode, true);
    assert.equal(JSON.stringify(chat.meta).includes(API_KEY), false);
    assert.equal(chat.chat?.provider, 'saas/openai');
  } finally {
    await chat.dispose();
    await embedding.dispose();
  }
});
