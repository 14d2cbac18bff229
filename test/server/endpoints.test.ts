/**
 * The other endpoints and server features: curl as a client, legacy completions, served model name,
 * CORS, Prometheus metrics, and the one error mapping for every code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ByzerLLMError, ERROR_CODES, UpstreamError } from '../../src/core/index.js';
import { mapError } from '../../src/server/index.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

const run = promisify(execFile);

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', ...args]);
  return stdout;
}

describe('gateway endpoints', () => {
  let gateway: Gateway;

  before(async () => {
    gateway = await startGateway({
      server: { servedModelName: 'gpt_chat', allowedOrigins: ['https://app.example'] },
      deployments: [{ name: 'other_chat', pretrainedModelType: 'saas/openai' }],
    });
  });
  after(() => gateway.close());

  test('curl: chat, stream, embeddings and models', async () => {
    const completion = JSON.parse(
      await curl(
        `${gateway.url}/chat/completions`,
        '-H',
        'content-type: application/json',
        '-d',
        '{"model":"gpt_chat","messages":[{"role":"user","content":"from curl"}]}',
      ),
    );
    assert.equal(completion.choices[0].message.content, 'echo: from curl');
    const stream = await curl(
      '-N',
      `${gateway.url}/chat/completions`,
      '-H',
      'content-type: application/json',
      '-d',
      '{"model":"gpt_chat","stream":true,"messages":[{"role":"user","content":"curl stream"}]}',
    );
    const events = stream.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const text = events
      .slice(0, -1)
      .map((event) => JSON.parse(event.slice(6)).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(text, 'echo: curl stream');
    const embeddings = JSON.parse(
      await curl(`${gateway.url}/embeddings`, '-d', '{"model":"gpt_chat","input":"vector me"}'),
    );
    assert.equal(embeddings.object, 'list');
    assert.ok(Array.isArray(embeddings.data[0].embedding));
    const models = JSON.parse(await curl(`${gateway.url}/models`));
    assert.deepEqual(
      models.data.map((model: { id: string }) => model.id),
      ['gpt_chat', 'other_chat'],
    );
  });

  test('served model name: requests without a model go to it; named models still go where they say', async () => {
    const response = await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'no model' }] }),
    });
    assert.equal(((await response.json()) as { model: string }).model, 'gpt_chat');
    const named = await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'other_chat', messages: [{ role: 'user', content: 'named' }] }),
    });
    assert.equal(((await named.json()) as { model: string }).model, 'other_chat');
    const unknown = await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(unknown.status, 404);
  });

  test('legacy completions: text, a list of prompts, and a plain-delta stream', async () => {
    const response = await fetch(`${gateway.url}/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt_chat', prompt: ['one', 'two'] }),
    });
    const body = (await response.json()) as { object: string; choices: { text: string }[] };
    assert.equal(body.object, 'text_completion');
    assert.deepEqual(
      body.choices.map((choice: { text: string }) => choice.text),
      ['echo: one', 'echo: two'],
    );
    const streamed = await fetch(`${gateway.url}/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt_chat', prompt: 'a b c', stream: true }),
    });
    const text = (await streamed.text())
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice(6)).choices[0]?.text ?? '')
      .join('');
    assert.equal(text, 'echo: a b c');
  });

  test('CORS: an allowed origin gets a preflight answer; another gets no CORS headers', async () => {
    const preflight = await fetch(`${gateway.url}/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(preflight.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
    const other = await fetch(`${gateway.url}/models`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('health and version answers carry an x-request-id too, one per answer', async () => {
    const ids = [];
    for (const path of ['/health', '/version', '/health']) {
      const answer = await fetch(`${gateway.origin}${path}`);
      assert.equal(answer.status, 200);
      ids.push(answer.headers.get('x-request-id') ?? '');
    }
    for (const id of ids) assert.match(id, /^req_[0-9a-f]{32}$/);
    assert.equal(new Set(ids).size, 3);
  });

  test('metrics: requests, latency, tokens and in-flight per deployment', async () => {
    await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'other_chat',
        messages: [{ role: 'user', content: 'count these words' }],
      }),
    });
    const text = await (await fetch(`${gateway.origin}/metrics`)).text();
    assert.match(
      text,
      /byzerllm_gateway_requests_total\{endpoint="\/v1\/chat\/completions",model="other_chat",status="200"\} [1-9]/,
    );
    assert.match(
      text,
      /byzerllm_gateway_request_duration_seconds_count\{endpoint="\/v1\/chat\/completions",model="other_chat"\} [1-9]/,
    );
    assert.match(text, /byzerllm_gateway_tokens_total\{model="other_chat",direction="output"\} [1-9]\d*/);
    assert.match(text, /byzerllm_gateway_in_flight\{model="other_chat"\} 0/);
    assert.doesNotMatch(text, /model="ghost"/);
  });

  test('map-error: every error code has a status, and the statuses are the documented ones', () => {
    const expected: Record<string, number> = {
      invalid_argument: 400,
      unsupported: 400,
      not_found: 404,
      capacity_exhausted: 429,
      upstream_rate_limit: 429,
      upstream_bad_request: 400,
      upstream_error: 502,
      upstream_unreachable: 502,
      upstream_auth: 502,
      timeout: 504,
      internal: 500,
    };
    for (const code of ERROR_CODES) {
      const mapped = mapError(new ByzerLLMError(code, `failure ${code}`));
      assert.ok(mapped.status >= 400 && mapped.status < 600, code);
      if (expected[code] !== undefined) assert.equal(mapped.status, expected[code], code);
    }
    const limited = mapError(
      new UpstreamError('upstream_rate_limit', 'slow down', { details: { retryAfterSeconds: 2.5 } }),
    );
    assert.equal(limited.headers['retry-after'], '3');
    assert.equal(
      mapError(new ByzerLLMError('internal', '/secret/path exploded')).body.error.message,
      'internal server error',
    );
  });
});
