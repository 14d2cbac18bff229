/**
 * `HttpClient.postJson` reads its answer with its own undici dispatch handler (`whole-answer.ts`)
 * rather than `Pool.request` and a body stream. What that path must still do, against a loopback
 * HTTP server that answers as scripted per request (a byte-level script is the only way to cut an
 * answer half-way or split a character between two network writes):
 * - a body that arrives in pieces, a multi-byte character split between them, a byte order mark;
 * - the answer's headers, for the callers that read them;
 * - a 5xx retried, with the upstream's `Retry-After`;
 * - a 2xx answer cut mid-body: the connection broke mid-answer, and it is not retried;
 * - the caller's abort while the answer is awaited: `aborted`, the upstream's connection closed,
 *   no listener left on the caller's signal and no deadline left on the clock.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { upstreamErrorFromStatus } from '../../src/core/index.js';
import { HttpClient } from '../../src/engines/shared/http-client.js';
import { deadlineClock } from '../../src/engines/shared/request-deadline.js';

type Script = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
const scripts: Script[] = [];
let requests = 0;
let closedEarly = 0;
let onRequest: (() => void) | undefined;

before(async () => {
  server = createServer((request, response) => {
    requests++;
    request.resume();
    request.on('end', () => {
      response.on('close', () => {
        if (!response.writableFinished) closedEarly++;
      });
      const script = scripts.shift() ?? answerJson({ ok: true });
      script(request, response);
      onRequest?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function answerJson(value: unknown): Script {
  return (_request, response) => {
    const text = JSON.stringify(value);
    response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
    response.end(text);
  };
}

function client(maxRetries: number): HttpClient {
  return new HttpClient({
    provider: 'saas/openai',
    baseUrl,
    headers: { authorization: 'Bearer k' },
    timeoutMs: 60_000,
    maxRetries,
    retry: { initialDelayMs: 1, maxDelayMs: 5 },
    errorFromResponse: (response) =>
      upstreamErrorFromStatus({
        provider: 'saas/openai',
        status: response.status,
        message: response.bodyText,
      }),
  });
}

test('an answer written in pieces, a character split between them and a byte order mark, parses whole', async () => {
  const text = JSON.stringify({ choices: [{ message: { content: 'naïve 日本語 ✓' } }] });
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  // Cut inside the three bytes of 日.
  const cut = bytes.indexOf(Buffer.from('日', 'utf8')) + 1;
  scripts.push((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    response.write(bytes.subarray(0, cut));
    setImmediate(() => response.end(bytes.subarray(cut)));
  });
  const http = client(0);
  const answer = await http.postJson('/chat/completions', { model: 'm' });
  assert.deepEqual(answer.body, JSON.parse(text));
  await http.close();
});

test('the answer headers are there for whoever reads them', async () => {
  const http = client(0);
  const answer = await http.postJson('/chat/completions', { model: 'm' });
  assert.equal(answer.headers['x-request-id'], 'req-1');
  assert.equal(answer.headers['content-type'], 'application/json');
  await http.close();
});

test('a 503 is retried and its Retry-After read; the next answer is the result', async () => {
  scripts.push((_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after-ms': '1' });
    response.end('{"error":{"message":"busy"}}');
  });
  const before = requests;
  const http = client(2);
  const answer = await http.postJson('/chat/completions', { model: 'm' });
  assert.deepEqual(answer.body, { ok: true });
  assert.equal(requests - before, 2);
  await http.close();
});

test('a 2xx answer cut mid-body is a connection broken mid-answer, and is not retried', async () => {
  scripts.push((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': 200 });
    response.write('{"choices":[');
    setImmediate(() => response.destroy());
  });
  const before = requests;
  const http = client(3);
  await assert.rejects(http.postJson('/chat/completions', { model: 'm' }), (error: Error) => {
    assert.equal((error as { code?: string }).code, 'upstream_error');
    assert.match(error.message, /broke mid-answer/);
    return true;
  });
  assert.equal(requests - before, 1);
  await http.close();
});

test('the caller aborting while the answer is awaited: aborted, upstream closed, nothing left behind', async () => {
  const held: ServerResponse[] = [];
  scripts.push((_request, response) => held.push(response));
  const started = new Promise<void>((resolve) => {
    onRequest = resolve;
  });
  const closedBefore = closedEarly;
  const controller = new AbortController();
  const http = client(2);
  const pending = http.postJson('/chat/completions', { model: 'm' }, { signal: controller.signal });
  await started;
  onRequest = undefined;
  assert.equal(deadlineClock.size, 1);
  const closed = new Promise((resolve) => held[0]!.once('close', resolve));
  controller.abort();
  await assert.rejects(pending, { code: 'aborted' });
  await closed;
  assert.equal(closedEarly - closedBefore, 1);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  assert.equal(deadlineClock.size, 0);
  await http.close();
});
