/**
 * Failures through the gateway: each maps to its OpenAI status and error body, the server survives
 * 1,000 malformed requests, and a client that leaves cancels the upstream request.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { type Gateway, startGateway } from './gateway-fixture.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function assertOpenAIError(answer: Answer): {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
} {
  const body = JSON.parse(answer.text) as { error: Record<string, unknown> };
  assert.equal(typeof body.error.message, 'string', answer.text);
  assert.equal(typeof body.error.type, 'string', answer.text);
  assert.ok('code' in body.error && 'param' in body.error, answer.text);
  return body.error as { message: string; type: string; code: string | null; param: string | null };
}

describe('gateway errors', () => {
  let gateway: Gateway;
  let pool: Pool;

  const send = async (
    path: string,
    body: string | Buffer | undefined,
    headers: Record<string, string> = {},
    method = 'POST',
  ): Promise<Answer> => {
    const response = await pool.request({
      method: method as 'POST',
      path,
      headers: { authorization: 'Bearer gateway-key', 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };
  const chat = (content: string, model = 'gpt_chat', extra: Record<string, unknown> = {}) =>
    send('/v1/chat/completions', JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }));

  before(async () => {
    gateway = await startGateway({
      server: { apiKey: 'gateway-key', bodyLimitBytes: 64 * 1024 },
      deployments: [
        { name: 'tiny', pretrainedModelType: 'saas/openai', workerConcurrency: 1, queueTimeoutSeconds: 0 },
        { name: 'impatient', pretrainedModelType: 'saas/openai', inferParams: { 'saas.timeout': '0.2' } },
      ],
    });
    pool = new Pool(gateway.origin, { connections: 16 });
  });
  after(async () => {
    await pool.close();
    await gateway.close();
  });

  test('unknown model: 404 naming it and listing the deployed ones', async () => {
    const answer = await chat('x', 'no_such_model');
    assert.equal(answer.status, 404);
    const error = assertOpenAIError(answer);
    assert.match(error.message, /no_such_model/);
    assert.match(error.message, /gpt_chat, tiny, impatient/);
    assert.equal(error.code, 'model_not_found');
  });

  test('bad key: 401; missing key: 401; health and version need none', async () => {
    const wrong = await send('/v1/models', undefined, { authorization: 'Bearer nope' }, 'GET');
    assert.equal(wrong.status, 401);
    assert.equal(assertOpenAIError(wrong).type, 'authentication_error');
    const missing = await send('/v1/chat/completions', '{}', { authorization: '' });
    assert.equal(missing.status, 401);
    const health = await send('/health', undefined, { authorization: '' }, 'GET');
    assert.equal(health.status, 200);
    const version = await send('/version', undefined, { authorization: '' }, 'GET');
    assert.match(JSON.parse(version.text).version, /^\d+\.\d+\.\d+/);
  });

  test('body too large: 413', async () => {
    const answer = await chat('x'.repeat(100 * 1024));
    assert.equal(answer.status, 413);
    assert.equal(assertOpenAIError(answer).code, 'request_too_large');
  });

  test('bad JSON and bad fields: 400 naming the field', async () => {
    const badJson = await send('/v1/chat/completions', '{"model":');
    assert.equal(badJson.status, 400);
    assert.match(assertOpenAIError(badJson).message, /not valid JSON/);
    const noMessages = await send('/v1/chat/completions', JSON.stringify({ model: 'gpt_chat' }));
    assert.equal(noMessages.status, 400);
    assert.equal(assertOpenAIError(noMessages).param, 'messages');
    const badRole = await send(
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'wizard', content: 'x' }] }),
    );
    assert.equal(assertOpenAIError(badRole).param, 'messages[0].role');
    const noModel = await send(
      '/v1/chat/completions',
      JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
    );
    assert.equal(noModel.status, 400);
    assert.equal(assertOpenAIError(noModel).param, 'model');
  });

  test('no capacity: 429 with Retry-After', async () => {
    const slow = chat('delay:400 slow', 'tiny');
    await gateway.upstream.waitUntil(() => gateway.upstream.inFlight() === 1);
    const refused = await chat('second', 'tiny');
    assert.equal(refused.status, 429);
    assert.equal(assertOpenAIError(refused).code, 'capacity_exhausted');
    assert.match(String(refused.headers['retry-after']), /^\d+$/);
    assert.equal((await slow).status, 200);
  });

  test('upstream rate limit: 429 with Retry-After; upstream failure: 502', async () => {
    const limited = await chat('fail:429');
    assert.equal(limited.status, 429);
    assert.equal(assertOpenAIError(limited).code, 'upstream_rate_limit');
    assert.ok(limited.headers['retry-after'] !== undefined);
    const failed = await chat('fail:500');
    assert.equal(failed.status, 502);
    assert.equal(assertOpenAIError(failed).type, 'upstream_error');
  });

  test('upstream timeout: 504', async () => {
    const answer = await chat('delay:3000 too slow', 'impatient');
    assert.equal(answer.status, 504);
    assert.equal(assertOpenAIError(answer).type, 'timeout_error');
    // The engine gave up on the upstream request: it is closed, not left running.
    await gateway.upstream.waitUntil(() => gateway.upstream.inFlight() === 0);
  });

  test('a failure in the middle of a stream ends it with an SSE error event', async () => {
    const answer = await chat('cut: a b c d', 'gpt_chat', { stream: true });
    assert.equal(answer.status, 200);
    const events = answer.text.split('\n\n').filter(Boolean);
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as { error?: { type: string } };
    assert.equal(last.error?.type, 'upstream_error');
  });

  test('a task the engine lacks: 400 saying what it does not offer', async () => {
    const rerank = await send(
      '/v1/rerank',
      JSON.stringify({ model: 'gpt_chat', query: 'q', documents: ['a', 'b'] }),
    );
    assert.equal(rerank.status, 400);
    assert.match(assertOpenAIError(rerank).message, /does not offer rerank/);
  });

  test('speech, image generation and transcription reach the engine end to end', async () => {
    const speech = await send(
      '/v1/audio/speech',
      JSON.stringify({ model: 'gpt_chat', input: 'hi there', voice: 'alloy' }),
    );
    assert.equal(speech.status, 200);
    assert.equal(speech.headers['content-type'], 'audio/mpeg');
    assert.equal(speech.text, 'FAKE-MP3:alloy:hi there');
    const image = await send(
      '/v1/images/generations',
      JSON.stringify({ model: 'gpt_chat', prompt: 'a cat', response_format: 'b64_json' }),
    );
    assert.equal(image.status, 200);
    const imageBody = JSON.parse(image.text) as { data: { b64_json: string }[] };
    assert.equal(Buffer.from(imageBody.data[0]!.b64_json, 'base64').toString(), 'FAKE-PNG:1024x1024:a cat');
    const form = new FormData();
    form.append('model', 'gpt_chat');
    form.append('response_format', 'verbose_json');
    form.append('file', new Blob([Buffer.from('hello from the recording')], { type: 'audio/wav' }), 'a.wav');
    const multipart = new Response(form);
    const transcription = await send('/v1/audio/transcriptions', Buffer.from(await multipart.arrayBuffer()), {
      'content-type': multipart.headers.get('content-type')!,
    });
    assert.equal(transcription.status, 200, transcription.text);
    assert.equal((JSON.parse(transcription.text) as { text: string }).text, 'hello from the recording');
  });

  test('transcriptions need a multipart body with a file', async () => {
    const notMultipart = await send('/v1/audio/transcriptions', '{}');
    assert.equal(notMultipart.status, 400);
    assert.equal(assertOpenAIError(notMultipart).param, 'file');
    const form = new FormData();
    form.append('model', 'gpt_chat');
    const multipart = new Response(form);
    const noFile = await send('/v1/audio/transcriptions', Buffer.from(await multipart.arrayBuffer()), {
      'content-type': multipart.headers.get('content-type')!,
    });
    assert.equal(noFile.status, 400);
    assert.match(assertOpenAIError(noFile).message, /missing file/);
  });

  test('timestamp_granularities takes word and segment only', async () => {
    const form = new FormData();
    form.append('model', 'gpt_chat');
    form.append('timestamp_granularities[]', 'sentence');
    form.append('file', new Blob([Buffer.from('hello')], { type: 'audio/wav' }), 'a.wav');
    const multipart = new Response(form);
    const refused = await send('/v1/audio/transcriptions', Buffer.from(await multipart.arrayBuffer()), {
      'content-type': multipart.headers.get('content-type')!,
    });
    assert.equal(refused.status, 400);
    assert.match(assertOpenAIError(refused).param ?? '', /^timestamp_granularities/);
  });

  test('a client that disconnects cancels the upstream request (stream and not)', async () => {
    gateway.upstream.reset();
    const leave = (body: Record<string, unknown>) =>
      new Promise<void>((resolve, reject) => {
        const request = httpRequest(`${gateway.url}/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer gateway-key', 'content-type': 'application/json' },
        });
        request.on('error', () => {});
        request.on('close', () => resolve());
        request.on('response', (response) => {
          response.once('data', () => request.destroy());
          response.on('error', () => {});
        });
        request.end(JSON.stringify({ model: 'gpt_chat', ...body }));
        gateway.upstream
          .waitUntil(() => gateway.upstream.inFlight() === 1)
          .then(() => {
            if (!body.stream) request.destroy();
          }, reject);
      });
    await leave({ messages: [{ role: 'user', content: 'delay:5000 never mind' }] });
    await gateway.upstream.waitUntil(() => gateway.upstream.abortedCount() === 1);
    await leave({ stream: true, messages: [{ role: 'user', content: 'chunk-delay:300 a b c d e f g' }] });
    await gateway.upstream.waitUntil(() => gateway.upstream.abortedCount() === 2);
    assert.equal(gateway.upstream.abortedCount(), 2);
  });

  test('1,000 malformed requests get only 4xx OpenAI errors; the next valid request is served', async () => {
    const huge = JSON.stringify({
      model: 'gpt_chat',
      messages: [{ role: 'user', content: 'y'.repeat(70 * 1024) }],
    });
    const kinds: (() => Promise<Answer>)[] = [
      () => send('/v1/chat/completions', '{"model": "gpt_chat", "messages": ['),
      () => send('/v1/chat/completions', 'null'),
      () => send('/v1/chat/completions', '[1,2]'),
      () => send('/v1/chat/completions', JSON.stringify({ model: 42, messages: [] })),
      () => send('/v1/chat/completions', JSON.stringify({ model: 'gpt_chat', messages: 'hi' })),
      () => send('/v1/chat/completions', JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'user' }] })),
      () =>
        send(
          '/v1/chat/completions',
          JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'user', content: 'x' }], max_tokens: -3 }),
        ),
      () =>
        send(
          '/v1/chat/completions',
          JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'user', content: 'x' }], tools: [{}] }),
        ),
      () => send('/v1/chat/completions', huge),
      () =>
        send(
          '/v1/chat/completions',
          JSON.stringify({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }),
        ),
      () => send('/v1/chat/completions', '{}', { authorization: 'Bearer stolen' }),
      () => send('/v1/embeddings', JSON.stringify({ model: 'gpt_chat', input: [1, 2, 3] })),
      () => send('/v1/embeddings', JSON.stringify({ model: 'gpt_chat', encoding_format: 'hex', input: 'x' })),
      () => send('/v1/completions', JSON.stringify({ model: 'gpt_chat' })),
      () => send('/v1/rerank', JSON.stringify({ model: 'gpt_chat', query: 1 })),
      () => send('/v1/images/generations', JSON.stringify({ model: 'gpt_chat', prompt: '' })),
      () => send('/v1/audio/speech', JSON.stringify({ model: 'gpt_chat', input: 'x', speed: 99 })),
      () => send('/v1/unknown/route', '{}'),
      () => send('/v1/chat/completions', undefined, {}, 'GET'),
      () => send('/v1/chat/completions', '\u0000\u0001garbage'),
    ];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < 1000) {
        const kind = kinds[next++ % kinds.length]!;
        const answer = await kind();
        assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}: ${answer.text}`);
        assertOpenAIError(answer);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual([...statuses.keys()].sort(), [400, 401, 404, 405, 413]);
    const valid = await chat('still alive');
    assert.equal(valid.status, 200);
    assert.equal(JSON.parse(valid.text).choices[0].message.content, 'echo: still alive');
  });
});
