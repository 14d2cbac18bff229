/** Unit tests of the shared HTTP pieces: Retry-After parsing, backoff bounds, SSE framing, redaction. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactSecrets, redactSecretsInValue } from '../../src/engines/shared/redact-secrets.js';
import { parseRetryAfterMs, retryDelayMs } from '../../src/engines/shared/retry-policy.js';
import { readServerSentEvents } from '../../src/engines/shared/server-sent-events.js';

test('Retry-After: retry-after-ms first, then seconds, then an HTTP date; nonsense is ignored', () => {
  assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }), 250);
  assert.equal(parseRetryAfterMs({ 'retry-after': '2' }), 2000);
  assert.equal(parseRetryAfterMs({ 'retry-after': '0' }), 0);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now), 3000);
  assert.equal(parseRetryAfterMs({ 'retry-after': 'soon' }), undefined);
  assert.equal(parseRetryAfterMs({ 'retry-after': '-1' }), undefined);
  assert.equal(parseRetryAfterMs({}), undefined);
});

test('backoff grows exponentially with jitter, is capped, and an upstream delay wins (clamped)', () => {
  for (let attempt = 0; attempt < 8; attempt++) {
    const delay = retryDelayMs(attempt, undefined, { initialDelayMs: 100, maxDelayMs: 1000 });
    assert.ok(delay >= 0 && delay <= Math.min(1000, 100 * 2 ** attempt), `attempt ${attempt}: ${delay}`);
  }
  assert.equal(retryDelayMs(5, 0), 0);
  assert.equal(retryDelayMs(0, 120_000), 60_000);
});

async function* bytes(...pieces: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield typeof piece === 'string' ? new TextEncoder().encode(piece) : piece;
}

async function events(...pieces: (string | Uint8Array)[]): Promise<string[]> {
  const data: string[] = [];
  for await (const event of readServerSentEvents(bytes(...pieces))) data.push(event.data);
  return data;
}

test('SSE: events split across chunks, CRLF line ends, comments, multi-line data', async () => {
  assert.deepEqual(
    await events('data: {"a"', ':1}\n\n: keep-alive\n\ndata: x\r\n\r\n', 'data: line 1\ndata: line 2\n\n'),
    ['{"a":1}', 'x', 'line 1\nline 2'],
  );
});

test('SSE: a multi-byte character split between chunks, and a last event without its blank line', async () => {
  const euro = new TextEncoder().encode('data: €\n\n');
  assert.deepEqual(await events(euro.slice(0, 7), euro.slice(7), 'data: [DONE]\n'), ['€', '[DONE]']);
});

test('redaction replaces secrets in texts and JSON values, leaving other texts alone', () => {
  assert.equal(redactSecrets('key sk-abcdef and sk-abcdef', ['sk-abcdef']), 'key ****** and ******');
  assert.equal(redactSecrets('nothing here', ['sk-abcdef']), 'nothing here');
  assert.deepEqual(redactSecretsInValue({ error: { message: 'bad sk-abcdef' } }, ['sk-abcdef']), {
    error: { message: 'bad ******' },
  });
  const untouched = { error: 'x' };
  assert.equal(redactSecretsInValue(untouched, ['sk-abcdef']), untouched);
});
