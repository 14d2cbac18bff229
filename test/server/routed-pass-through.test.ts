/**
 * Routes on the OpenAI pass-through (issue 19's fast path): a route whose deployments all offer the
 * pass-through in the gateway's process runs its tries on it, keeping what a route does — the
 * route's name as `model`, the route headers, fallbacks, the cache (filled by plain and streamed
 * answers, replayed as JSON and as a stream) — and a route with any other deployment keeps the
 * general path.
 *
 * The upstream stand-in puts `system_fingerprint: fp_byzerllm_test` in its answers; the general path
 * and cache replays build their own answers, without it, so its presence shows the pass-through served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Governance } from '../../src/cluster/index.js';
import { streamedContent } from '../support/routed-gateway.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

const FINGERPRINT = 'fp_byzerllm_test';

interface Completion {
  model: string;
  system_fingerprint?: string;
  choices: {
    message: { content: string | null; tool_calls?: { function: { name: string; arguments: string } }[] };
    finish_reason: string;
  }[];
  usage: { prompt_tokens: number; completion_tokens: number };
}

describe('routes on the OpenAI pass-through', () => {
  let gateway: Gateway;

  before(async () => {
    const governance = new Governance();
    await governance.set('fast', { strategy: 'single', targets: [{ deployment: 'gpt_chat' }] });
    // `reasoner` drops sampling fields from the body it is handed; `gpt_chat` must still get them.
    await governance.set('fast/fallback', {
      strategy: 'fallback',
      targets: [{ deployment: 'reasoner' }, { deployment: 'gpt_chat' }],
    });
    await governance.set('fast/cached', {
      strategy: 'single',
      cache: { ttl_seconds: 300, max_entries: 100 },
      targets: [{ deployment: 'gpt_chat' }],
    });
    // `with_defaults` has no pass-through (generation defaults): the whole route takes the general path.
    await governance.set('mixed', {
      strategy: 'fallback',
      targets: [{ deployment: 'gpt_chat' }, { deployment: 'with_defaults' }],
    });
    gateway = await startGateway({
      governance,
      deployments: [
        { name: 'reasoner', pretrainedModelType: 'saas/reasoning_openai' },
        {
          name: 'with_defaults',
          pretrainedModelType: 'saas/openai',
          generationDefaults: { temperature: '0.2' },
        },
      ],
    });
  });
  after(async () => {
    await gateway.close();
  });

  const ask = (body: Record<string, unknown>) =>
    fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const chatBodies = () =>
    gateway.upstream.requests
      .filter((request) => request.path === '/v1/chat/completions')
      .map((request) => request.body as Record<string, unknown>);
  const dataEvents = (text: string) =>
    text
      .split('\n\n')
      .filter(Boolean)
      .map((event) => event.replace(/^data: /, ''));

  test('a plain answer is the upstream JSON with the route as model and the route headers', async () => {
    const response = await ask({ model: 'fast', messages: [{ role: 'user', content: 'hello route' }] });
    assert.equal(response.status, 200);
    const completion = (await response.json()) as Completion;
    assert.equal(completion.system_fingerprint, FINGERPRINT);
    assert.equal(completion.model, 'fast');
    assert.equal(completion.choices[0]!.message.content, 'echo: hello route');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
    assert.equal(response.headers.get('x-byzerllm-attempts'), '1');
    assert.equal(chatBodies().at(-1)!.model, 'm');
  });

  test('a stream is the upstream chunks with the route as model, headers before the first', async () => {
    const response = await ask({
      model: 'fast',
      stream: true,
      messages: [{ role: 'user', content: 'one two three' }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
    assert.equal(response.headers.get('x-byzerllm-attempts'), '1');
    const data = dataEvents(await response.text());
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((event) => JSON.parse(event) as Record<string, unknown>);
    assert.ok(chunks.every((chunk) => chunk.model === 'fast' && chunk.system_fingerprint === FINGERPRINT));
    assert.equal(streamedContent(data.map((event) => `data: ${event}\n\n`).join('')), 'echo: one two three');
  });

  test('a fallback after a failed try sends the next deployment the body as the client sent it', async () => {
    const before = chatBodies().length;
    gateway.upstream.failNext({ status: 500 });
    const response = await ask({
      model: 'fast/fallback',
      temperature: 0.5,
      messages: [{ role: 'user', content: 'fall back' }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
    assert.equal(response.headers.get('x-byzerllm-attempts'), '2');
    const completion = (await response.json()) as Completion;
    assert.equal(completion.system_fingerprint, FINGERPRINT);
    assert.equal(completion.model, 'fast/fallback');
    const [tried, answered] = chatBodies().slice(before);
    // The reasoning deployment removed `temperature` from the body it was handed, not from the next try's.
    assert.equal('temperature' in tried!, false);
    assert.equal(answered!.temperature, 0.5);
    assert.deepEqual(answered!.messages, [{ role: 'user', content: 'fall back' }]);
  });

  test('a stream falls back before its first chunk and streams one answer', async () => {
    gateway.upstream.failNext({ status: 500 });
    const response = await ask({
      model: 'fast/fallback',
      stream: true,
      messages: [{ role: 'user', content: 'streamed fallback' }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-byzerllm-attempts'), '2');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
    const text = await response.text();
    assert.match(text, new RegExp(FINGERPRINT));
    assert.equal(streamedContent(text), 'echo: streamed fallback');
  });

  test('every target failing: the last error, with the route headers of the last try', async () => {
    gateway.upstream.failNext({ status: 503 }, { status: 503 });
    const response = await ask({ model: 'fast/fallback', messages: [{ role: 'user', content: 'no luck' }] });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
    assert.equal(response.headers.get('x-byzerllm-attempts'), '2');
  });

  test('a plain miss fills the cache: hits replay it as JSON and as a stream, never reaching the upstream', async () => {
    const body = { model: 'fast/cached', messages: [{ role: 'user', content: 'cache me reason:' }] };
    const missed = await ask(body);
    assert.equal(missed.headers.get('x-byzerllm-cache'), 'miss');
    const original = (await missed.json()) as Completion & {
      choices: { message: { reasoning_content?: string } }[];
    };
    assert.equal(original.system_fingerprint, FINGERPRINT);
    const before = chatBodies().length;
    const hit = await ask(body);
    assert.equal(hit.headers.get('x-byzerllm-cache'), 'hit');
    const replayed = (await hit.json()) as Completion & {
      choices: { message: { reasoning_content?: string } }[];
    };
    assert.equal(replayed.system_fingerprint, undefined);
    assert.equal(replayed.model, 'fast/cached');
    assert.equal(replayed.choices[0]!.message.content, original.choices[0]!.message.content);
    assert.equal(
      replayed.choices[0]!.message.reasoning_content,
      original.choices[0]!.message.reasoning_content,
    );
    assert.ok(original.choices[0]!.message.reasoning_content);
    assert.deepEqual(replayed.usage, original.usage);
    const streamed = await ask({ ...body, stream: true });
    assert.equal(streamed.headers.get('x-byzerllm-cache'), 'hit');
    assert.equal(streamedContent(await streamed.text()), original.choices[0]!.message.content);
    assert.equal(chatBodies().length, before, 'the hits never reached the upstream');
  });

  test('a streamed miss fills the cache with its text, tool call and usage, not shown to a client that did not ask', async () => {
    const messages = [{ role: 'user', content: 'stream me tool:lookup' }];
    const missed = await ask({ model: 'fast/cached', stream: true, messages });
    assert.equal(missed.headers.get('x-byzerllm-cache'), 'miss');
    const text = await missed.text();
    assert.match(text, new RegExp(FINGERPRINT));
    assert.equal(text.includes('"usage":{'), false, 'usage was asked for the cache, not by the client');
    const before = chatBodies().length;
    assert.deepEqual(chatBodies().at(-1)!.stream_options, { include_usage: true });
    const hit = await ask({ model: 'fast/cached', messages });
    assert.equal(hit.headers.get('x-byzerllm-cache'), 'hit');
    const replayed = (await hit.json()) as Completion;
    const call = replayed.choices[0]!.message.tool_calls?.[0];
    assert.equal(call?.function.name, 'lookup');
    assert.deepEqual(JSON.parse(call!.function.arguments), { text: 'stream me tool:lookup' });
    assert.equal(replayed.choices[0]!.finish_reason, 'tool_calls');
    assert.ok(
      replayed.usage.prompt_tokens > 0 && replayed.usage.completion_tokens > 0,
      JSON.stringify(replayed.usage),
    );
    assert.equal(chatBodies().length, before);
  });

  test('a stream the upstream cuts is an error event and stores nothing', async () => {
    const body = { model: 'fast/cached', messages: [{ role: 'user', content: 'cut: short' }] };
    const cut = await ask({ ...body, stream: true });
    assert.equal(cut.headers.get('x-byzerllm-cache'), 'miss');
    assert.match(await cut.text(), /"error"/);
    const again = await ask(body);
    assert.equal(again.headers.get('x-byzerllm-cache'), 'miss');
  });

  test('a route with a deployment without the pass-through takes the general path', async () => {
    const response = await ask({ model: 'mixed', messages: [{ role: 'user', content: 'general' }] });
    assert.equal(response.status, 200);
    const completion = (await response.json()) as Completion;
    assert.equal(completion.system_fingerprint, undefined);
    assert.equal(completion.model, 'mixed');
    assert.equal(completion.choices[0]!.message.content, 'echo: general');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'gpt_chat');
  });
});
