/**
 * `x-request-id`: cut from a pool of random bytes refilled every 256 ids, and sent by the gateway's
 * `GatewayResponse` with whatever headers an answer writes (a prebuilt list, an object, headers set
 * before, the implicit ones). Every answer must carry exactly one, in OpenAI's shape.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newRequestId } from '../../src/server/request-id.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

test('request ids are req_ and 32 hex digits, all distinct across several refills of the pool', () => {
  const ids = Array.from({ length: 1000 }, () => newRequestId());
  for (const id of ids) assert.match(id, /^req_[0-9a-f]{32}$/);
  assert.equal(new Set(ids).size, ids.length);
});

let gateway: Gateway;
before(async () => {
  gateway = await startGateway({ server: { allowedOrigins: ['https://app.example'] } });
});
after(() => gateway.close());

const chat = (extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });

test('every way an answer writes its headers sends one request id, a new one per answer', async () => {
  const answers = [
    // A JSON answer: one prebuilt header list.
    await chat({}),
    // A stream: an object of headers.
    await chat({ stream: true }),
    // Headers set before the answer's own (CORS).
    await chat({}, { origin: 'https://app.example' }),
    // An error with its own headers, and the metrics text.
    await chat({ model: 'no_such_model' }),
    await fetch(`${gateway.origin}/metrics`),
  ];
  const ids: string[] = [];
  for (const answer of answers) {
    await answer.text();
    const id = answer.headers.get('x-request-id') ?? '';
    // Two headers of one name would arrive joined by a comma.
    assert.match(id, /^req_[0-9a-f]{32}$/, `${answer.url} ${answer.status}`);
    ids.push(id);
  }
  assert.equal(answers[1]?.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(answers[2]?.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(answers[3]?.status, 404);
  assert.equal(new Set(ids).size, ids.length);
});
