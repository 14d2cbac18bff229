/** `saas/gemini` against a local server speaking the Gemini API. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ChatRequest, collectStream } from '../../../src/core/chat-model.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { createGeminiEngine } from '../../../src/engines/gemini/gemini-provider.js';
import { embeddingOf } from '../../support/openai-upstream-answers.js';
import { type GeminiUpstream, startGeminiUpstream } from '../../support/gemini-upstream.js';
import { runChatModelConformance } from '../chat-conformance.js';
import { engineContext } from '../engine-context.js';

const API_KEY = 'AIza-conformance-secret-99';

function createEngine(inferParams: Record<string, string>, warnings: string[] = []) {
  return createGeminiEngine(engineContext('saas/gemini', inferParams, warnings));
}

async function withGemini(
  body: (engine: EngineInstance, upstream: GeminiUpstream) => Promise<void>,
  params: Record<string, string> = {},
): Promise<void> {
  const upstream = await startGeminiUpstream(API_KEY);
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

runChatModelConformance('saas/gemini', async (setup) => {
  const upstream = await startGeminiUpstream(API_KEY);
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

describe('saas/gemini wire protocol', () => {
  test('generateContent: x-goog-api-key header (never ?key=), model path, systemInstruction, roles, config', () =>
    withGemini(
      async (engine, upstream) => {
        const result = await engine.chat!.doGenerate({
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'first' },
            { role: 'assistant', content: 'echo: first' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'second' },
                { type: 'image', url: 'data:image/png;base64,AAAA' },
              ],
            },
          ],
          maxTokens: 64,
          temperature: 0.3,
          stop: ['END'],
          responseFormat: { type: 'json' },
        });
        assert.equal(result.text, 'echo: second');
        assert.equal(result.modelId, 'gemini-1.5-pro');
        const request = upstream.requests.at(-1)!;
        assert.equal(request.path, '/v1beta/models/gemini-1.5-pro:generateContent');
        assert.equal(request.headers['x-goog-api-key'], API_KEY);
        assert.equal(request.query.get('key'), null, 'the key never goes into the URL');
        assert.deepEqual(request.body, {
          systemInstruction: { parts: [{ text: 'be brief' }] },
          contents: [
            { role: 'user', parts: [{ text: 'first' }] },
            { role: 'model', parts: [{ text: 'echo: first' }] },
            {
              role: 'user',
              parts: [{ text: 'second' }, { inlineData: { mimeType: 'image/png', data: 'AAAA' } }],
            },
          ],
          generationConfig: {
            maxOutputTokens: 64,
            temperature: 0.3,
            stopSequences: ['END'],
            responseMimeType: 'application/json',
          },
        });
      },
      { 'saas.model': 'gemini-1.5-pro' },
    ));

  test('streaming uses :streamGenerateContent?alt=sse and reads CRLF-framed events', () =>
    withGemini(async (engine, upstream) => {
      const streamed = await collectStream(await engine.chat!.doStream(ask('one two three')));
      assert.equal(streamed.text, 'echo: one two three');
      assert.equal(streamed.finishReason, 'stop');
      const request = upstream.requests.at(-1)!;
      assert.equal(request.path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent');
      assert.equal(request.query.get('alt'), 'sse');
    }));

  test('function calling: declarations, functionCall answers, functionResponse turns named after the call', () =>
    withGemini(async (engine, upstream) => {
      const tools = [{ name: 'lookup', description: 'find', parameters: { type: 'object' } }];
      const result = await engine.chat!.doGenerate(
        ask('tool:lookup rain', { tools, toolChoice: 'required' }),
      );
      assert.equal(result.finishReason, 'tool-calls');
      const call = result.toolCalls[0]!;
      assert.equal(call.name, 'lookup');
      assert.deepEqual(JSON.parse(call.arguments), { text: 'tool:lookup rain' });
      const sent = upstream.requests.at(-1)!.body as Record<string, unknown>;
      assert.deepEqual(sent.tools, [
        { functionDeclarations: [{ name: 'lookup', description: 'find', parameters: { type: 'object' } }] },
      ]);
      assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
      const streamed = await collectStream(await engine.chat!.doStream(ask('tool:lookup snow', { tools })));
      assert.equal(streamed.toolCalls[0]?.name, 'lookup');
      assert.equal(streamed.finishReason, 'tool-calls');
      await engine.chat!.doGenerate({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: '', toolCalls: [call] },
          { role: 'tool', toolCallId: call.id, content: '{"weather":"rain"}' },
        ],
      });
      const followUp = upstream.requests.at(-1)!.body as { contents: unknown[] };
      assert.deepEqual(followUp.contents.slice(1), [
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { text: 'tool:lookup rain' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { weather: 'rain' } } }] },
      ]);
    }));

  test('thought parts become reasoning', () =>
    withGemini(async (engine) => {
      const result = await engine.chat!.doGenerate(ask('reason: why'));
      assert.equal(result.reasoning, 'thinking about: reason: why');
      assert.equal(result.text, 'echo: reason: why');
      const streamed = await collectStream(await engine.chat!.doStream(ask('reason: why')));
      assert.equal(streamed.reasoning, 'thinking about: reason: why');
    }));

  test('embeddings go through :batchEmbedContents, one entry per value naming the model', () =>
    withGemini(
      async (engine, upstream) => {
        const result = await engine.embedding!.doEmbed({ values: ['alpha', 'beta'], dimensions: 8 });
        assert.deepEqual(result.embeddings, [embeddingOf('alpha', 8), embeddingOf('beta', 8)]);
        const request = upstream.requests.at(-1)!;
        assert.equal(request.path, '/v1beta/models/text-embedding-004:batchEmbedContents');
        const body = request.body as { requests: Record<string, unknown>[] };
        assert.deepEqual(body.requests[0], {
          model: 'models/text-embedding-004',
          content: { parts: [{ text: 'alpha' }] },
          outputDimensionality: 8,
        });
        assert.equal(engine.meta.embedding_mode, true);
      },
      { 'saas.model': 'text-embedding-004' },
    ));

  test('a wrong key (HTTP 400 API_KEY_INVALID) is upstream_auth; 503 is upstream_overloaded; 429 upstream_rate_limit', async () => {
    const upstream = await startGeminiUpstream(API_KEY);
    const engine = await createEngine({
      'saas.api_key': 'wrong-key',
      'saas.base_url': upstream.url,
      'saas.max_retries': '0',
    });
    try {
      await assert.rejects(engine.chat!.doGenerate(ask('hi')), { code: 'upstream_auth', isRetryable: false });
    } finally {
      await engine.dispose();
      await upstream.close();
    }
    await withGemini(async (gemini) => {
      await assert.rejects(gemini.chat!.doGenerate(ask('fail:503')), {
        code: 'upstream_overloaded',
        isRetryable: true,
      });
      await assert.rejects(gemini.chat!.doGenerate(ask('fail:429')), {
        code: 'upstream_rate_limit',
        isRetryable: true,
      });
    });
  });

  test('retries: a 429 is retried up to saas.max_retries, a 404 is not', () =>
    withGemini(
      async (engine, upstream) => {
        await assert.rejects(engine.chat!.doGenerate(ask('fail:429')), { code: 'upstream_rate_limit' });
        assert.equal(upstream.requests.length, 2);
        await assert.rejects(engine.chat!.doGenerate(ask('fail:404')), { code: 'upstream_not_found' });
        assert.equal(upstream.requests.length, 3);
      },
      { 'saas.max_retries': '1' },
    ));

  test('unknown saas.* keys are warnings naming the key', async () => {
    const warnings: string[] = [];
    const engine = await createEngine({ 'saas.api_key': 'k', 'saas.temprature': '1' }, warnings);
    await engine.dispose();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /saas\.temprature/);
  });
});
