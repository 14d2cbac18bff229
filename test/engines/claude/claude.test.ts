/** `saas/claude` against a local server speaking the Anthropic Messages API. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectStream, type ChatRequest } from '../../../src/core/chat-model.js';
import { ByzerLLMError } from '../../../src/core/errors.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createClaudeEngine } from '../../../src/engines/claude/claude-provider.js';
import { type AnthropicUpstream, startAnthropicUpstream } from '../../support/anthropic-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';
import { engineContext } from '../engine-context.js';

const API_KEY = 'sk-ant-conformance-secret-42';

function createEngine(inferParams: Record<string, string>, warnings: string[] = []) {
  return createClaudeEngine(engineContext('saas/claude', inferParams, warnings));
}

async function withClaude(
  body: (engine: EngineInstance, upstream: AnthropicUpstream) => Promise<void>,
  params: Record<string, string> = {},
): Promise<void> {
  const upstream = await startAnthropicUpstream(API_KEY);
  const engine = await createEngine({
    'saas.api_key': API_KEY,
    'saas.base_url': upstream.url,
    'saas.max_retries': '0',
    ...params,
  });
  try {
    await body(engine, upstream);
  } finally {
    await engine.dispose();
    await upstream.close();
  }
}

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: text }],
  ...extra,
});

runChatModelConformance('saas/claude', async (setup) => {
  const upstream = await startAnthropicUpstream(API_KEY);
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

describe('saas/claude wire protocol', () => {
  test('sends x-api-key, anthropic-version, the model and a max_tokens to /v1/messages', () =>
    withClaude(
      async (engine, upstream) => {
        const result = await engine.chat!.doGenerate(ask('hi'));
        assert.equal(result.text, 'echo: hi');
        const request = upstream.requests.at(-1)!;
        assert.equal(request.path, '/v1/messages');
        assert.equal(request.headers['x-api-key'], API_KEY);
        assert.equal(request.headers['anthropic-version'], '2023-06-01');
        assert.equal(request.headers.authorization, undefined, 'no bearer header is sent');
        const body = request.body as Record<string, unknown>;
        assert.equal(body.model, 'claude-3-5-sonnet-20240620');
        assert.equal(body.max_tokens, 4096);
      },
      { 'saas.model': 'claude-3-5-sonnet-20240620' },
    ));

  test('system messages move to the top-level system field; images become base64 and url blocks', () =>
    withClaude(async (engine, upstream) => {
      await engine.chat!.doGenerate({
        messages: [
          { role: 'system', content: 'be brief' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this' },
              { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=' },
              { type: 'image', url: 'https://example.com/cat.jpg' },
            ],
          },
        ],
        temperature: 0.2,
        topK: 5,
        stop: ['END'],
      });
      const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
      assert.equal(body.system, 'be brief');
      assert.equal(body.temperature, 0.2);
      assert.equal(body.top_k, 5);
      assert.deepEqual(body.stop_sequences, ['END']);
      assert.deepEqual(body.messages, [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ]);
    }));

  test('a last assistant message is sent as a prefill without trailing whitespace', () =>
    withClaude(async (engine, upstream) => {
      await engine.chat!.doGenerate({
        messages: [
          { role: 'user', content: 'write json' },
          { role: 'assistant', content: '{"answer": ', prefix: true },
        ],
      });
      const body = upstream.requests.at(-1)!.body as { messages: { role: string; content: unknown }[] };
      assert.deepEqual(body.messages.at(-1), {
        role: 'assistant',
        content: [{ type: 'text', text: '{"answer":' }],
      });
    }));

  test('tool use: definitions as input_schema, tool_use answers, tool_result turns', () =>
    withClaude(async (engine, upstream) => {
      const tools = [{ name: 'lookup', description: 'find', parameters: { type: 'object' } }];
      const result = await engine.chat!.doGenerate(
        ask('tool:lookup weather', { tools, toolChoice: 'required' }),
      );
      assert.equal(result.finishReason, 'tool-calls');
      assert.equal(result.toolCalls[0]?.name, 'lookup');
      assert.deepEqual(JSON.parse(result.toolCalls[0]!.arguments), { text: 'tool:lookup weather' });
      const sent = upstream.requests.at(-1)!.body as Record<string, unknown>;
      assert.deepEqual(sent.tools, [
        { name: 'lookup', description: 'find', input_schema: { type: 'object' } },
      ]);
      assert.deepEqual(sent.tool_choice, { type: 'any' });
      const streamed = await collectStream(await engine.chat!.doStream(ask('tool:lookup again', { tools })));
      assert.deepEqual(JSON.parse(streamed.toolCalls[0]!.arguments), { text: 'tool:lookup again' });
      await engine.chat!.doGenerate({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: '', toolCalls: [result.toolCalls[0]!] },
          { role: 'tool', toolCallId: result.toolCalls[0]!.id, content: 'sunny' },
        ],
      });
      const followUp = upstream.requests.at(-1)!.body as { messages: unknown[] };
      assert.deepEqual(followUp.messages.slice(1), [
        {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id: result.toolCalls[0]!.id,
              name: 'lookup',
              input: { text: 'tool:lookup weather' },
            },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: result.toolCalls[0]!.id, content: 'sunny' }],
        },
      ]);
    }));

  test('thinking blocks become reasoning, streamed and not', () =>
    withClaude(async (engine) => {
      const result = await engine.chat!.doGenerate(ask('reason: why'));
      assert.equal(result.reasoning, 'thinking about: reason: why');
      const streamed = await collectStream(await engine.chat!.doStream(ask('reason: why')));
      assert.equal(streamed.reasoning, 'thinking about: reason: why');
      assert.equal(streamed.text, result.text);
    }));

  test('529 overloaded_error is upstream_overloaded, distinct from a 429 rate limit', () =>
    withClaude(async (engine) => {
      await assert.rejects(engine.chat!.doGenerate(ask('fail:529')), (error: unknown) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.equal(error.code, 'upstream_overloaded');
        assert.equal(error.isRetryable, true);
        assert.match(error.message, /Simulated HTTP 529/);
        return true;
      });
      await assert.rejects(engine.chat!.doGenerate(ask('fail:429')), { code: 'upstream_rate_limit' });
    }));

  test('an overloaded_error event mid-stream ends the stream with one upstream_overloaded error part', () =>
    withClaude(async (engine) => {
      const parts = [];
      for await (const part of await engine.chat!.doStream(ask('overload-mid-stream: go'))) parts.push(part);
      assert.ok(parts.some((part) => part.type === 'text-delta'));
      const last = parts.at(-1);
      assert.equal(last?.type, 'error');
      if (last?.type === 'error') {
        assert.equal(last.error.code, 'upstream_overloaded');
        assert.equal(last.error.isRetryable, true);
      }
      assert.equal(parts.filter((part) => part.type === 'finish').length, 0);
    }));

  test('retryable failures are retried (429 with retry-after), non-retryable ones surface at once', () =>
    withClaude(
      async (engine, upstream) => {
        await assert.rejects(engine.chat!.doGenerate(ask('fail:429')), { code: 'upstream_rate_limit' });
        assert.equal(upstream.requests.length, 3, 'one request and two retries');
        await assert.rejects(engine.chat!.doGenerate(ask('fail:400')), { code: 'upstream_bad_request' });
        assert.equal(upstream.requests.length, 4, 'a 400 is not retried');
      },
      { 'saas.max_retries': '2' },
    ));

  test('saas.timeout bounds the wait for an answer: TimeoutError, retryable', () =>
    withClaude(
      async (engine) => {
        await assert.rejects(engine.chat!.doGenerate(ask('delay:2000 slow')), {
          code: 'timeout',
          isRetryable: true,
        });
      },
      { 'saas.timeout': '0.2' },
    ));

  test('a missing api key is an invalid argument; unknown saas.* keys are warnings naming the key', async () => {
    await assert.rejects(createEngine({}), { code: 'invalid_argument', message: /saas\.api_key/ });
    const warnings: string[] = [];
    const engine = await createEngine({ 'saas.api_key': 'k', 'saas.modle': 'x' }, warnings);
    await engine.dispose();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /saas\.modle/);
  });
});
