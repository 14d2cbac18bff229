/**
 * What a hostile client can send must not hurt the gateway: made-up paths, unauthenticated requests
 * and unknown model names never become metrics labels (so `/metrics` stays small), and JSON nested
 * 100,000 deep is a 400, not a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { MAX_JSON_DEPTH } from '../../src/server/http.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

describe('gateway against hostile clients', () => {
  let gateway: Gateway;
  let pool: Pool;

  const send = async (path: string, body: string | undefined, key = 'gateway-key', method = 'POST') => {
    const response = await pool.request({
      method: method as 'POST',
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.statusCode, text: await response.body.text() };
  };
  const metrics = async () => (await send('/metrics', undefined, 'gateway-key', 'GET')).text;
  const chatBody = (extra: Record<string, unknown> = {}, model = 'gpt_chat') =>
    `{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":"hi"}]${Object.entries(extra)
      .map(([key, raw]) => `,${JSON.stringify(key)}:${raw}`)
      .join('')}}`;

  before(async () => {
    gateway = await startGateway({ server: { apiKey: 'gateway-key' } });
    pool = new Pool(gateway.origin, { connections: 8 });
  });
  after(async () => {
    await pool.close();
    await gateway.close();
  });

  test('unique paths, unauthenticated requests and unknown models add no metrics series', async () => {
    assert.equal((await send('/v1/chat/completions', chatBody())).status, 200);
    const seriesCount = (text: string) => text.split('\n').filter((line) => !line.startsWith('#')).length;
    const before = seriesCount(await metrics());
    // One of each kind first, so that every status the flood below produces already has its series.
    const flood = async (index: number) => {
      const marker = `zz${index}x`;
      const answers = await Promise.all([
        send(`/${marker}/v1/chat/completions`, '{}', 'wrong-key'),
        send(`/v1/${marker}`, '{}', 'wrong-key', 'GET'),
        send(`/v1/${marker}`, '{}'),
        send(`/v1/models/${marker}`, undefined, 'gateway-key', 'GET'),
        send('/v1/chat/completions', chatBody({}, marker)),
      ]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [401, 401, 404, 404, 404],
      );
    };
    await flood(0);
    const afterOne = await metrics();
    for (let index = 1; index <= 200; index += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, offset) => flood(index + offset)));
    }
    const afterMany = await metrics();
    assert.doesNotMatch(afterMany, /zz\d+x/, 'a client-chosen name became a label');
    assert.equal(seriesCount(afterMany), seriesCount(afterOne), 'the series grew with the flood');
    assert.ok(seriesCount(afterOne) > before, 'the refused requests are still counted');
    assert.match(afterMany, /byzerllm_gateway_requests_total\{endpoint="other",model="",status="401"\} 402/);
    assert.match(afterMany, /byzerllm_gateway_requests_total\{endpoint="other",model="",status="404"\} 201/);
    assert.match(
      afterMany,
      /byzerllm_gateway_requests_total\{endpoint="\/v1\/chat\/completions",model="",status="404"\} 201/,
    );
    assert.match(afterMany, /byzerllm_gateway_in_flight\{model="gpt_chat"\} 0/);
  });

  test('JSON nested 100,000 deep is a 400 naming the limit; the gateway keeps serving', async () => {
    const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    for (const body of [
      chatBody({ user_data: deepArray }),
      chatBody({ extra_body: deepObject }),
      chatBody({
        tools: `[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":${deepArray}}}}]`,
      }),
      deepArray,
    ]) {
      const answer = await send('/v1/chat/completions', body);
      assert.equal(answer.status, 400, answer.text.slice(0, 200));
      const error = (JSON.parse(answer.text) as { error: { message: string; param: string } }).error;
      assert.equal(error.param, 'body');
      assert.match(error.message, new RegExp(`more than ${MAX_JSON_DEPTH} levels deep`));
    }
    // Brackets inside strings (escaped quotes included) are text, not nesting.
    const bracketText = JSON.stringify(`\\"${'[{'.repeat(5_000)}`);
    const text = await send('/v1/chat/completions', chatBody({ user: bracketText }));
    assert.equal(text.status, 200, text.text.slice(0, 200));
    // The deepest body allowed is served.
    const allowed = `${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}`;
    const atLimit = await send('/v1/chat/completions', chatBody({ user_data: allowed }));
    assert.equal(atLimit.status, 200, atLimit.text.slice(0, 200));
  });
});
