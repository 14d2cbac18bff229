/**
 * Virtual keys, budgets and rate limits at the gateway (in-process head, loopback OpenAI upstream
 * that returns usage): keys restricted to models, revoked and expired keys, a budget under 32
 * concurrent requests cut off within its bound with spend equal to the upstream's usage × price,
 * rpm limits answered 429 with Retry-After, and a request through a route charged at the price of
 * the deployment that answered it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AccessControl,
  Governance,
  type Head,
  pricesOfSpecs,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

const MASTER = 'master-key-0123456789';
/** Per 1M tokens: 6 decimals at most, so a token costs a whole number of pico-units. */
const PRICE_INPUT = 1.25;
const PRICE_OUTPUT = 3.5;
/** Worker slots of the priced deployment: the budget's overshoot bound. */
const SLOTS = 4;

interface ChatAnswer {
  usage?: { prompt_tokens: number; completion_tokens: number };
  error?: { message: string; type: string; code: string };
}

describe('virtual keys at the gateway', () => {
  let gateway: Gateway;
  let stateDirectory: string;
  let keys: VirtualKeyStore;
  let control: AccessControl;
  let clock = Date.now();
  let head: Head | undefined;

  before(async () => {
    stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-keys-'));
    keys = new VirtualKeyStore(stateDirectory, () => clock);
    control = new AccessControl({
      keys,
      priceOf: pricesOfSpecs((name) => head?.specOf(name)),
      now: () => clock,
    });
    const governance = new Governance();
    await governance.set('priced/cached', {
      strategy: 'single',
      cache: { ttl_seconds: 300, max_entries: 10 },
      targets: [{ deployment: 'priced' }],
    });
    gateway = await startGateway({
      server: { apiKey: MASTER, gate: control, governance },
      deployments: [
        {
          name: 'priced',
          pretrainedModelType: 'saas/openai',
          workerConcurrency: SLOTS,
          inferParams: {
            'gateway.price_input': String(PRICE_INPUT),
            'gateway.price_output': String(PRICE_OUTPUT),
          },
        },
      ],
    });
    head = gateway.head;
  });
  after(async () => {
    await gateway.close();
    await fs.rm(stateDirectory, { recursive: true, force: true });
  });

  async function chat(
    key: string,
    model: string,
    text = 'hello there',
  ): Promise<{ status: number; body: ChatAnswer; headers: Headers }> {
    const response = await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: text }] }),
    });
    return {
      status: response.status,
      body: (await response.json()) as ChatAnswer,
      headers: response.headers,
    };
  }

  test('a key restricted to models gets 403 naming the model and what is allowed; wrong, revoked and expired keys 401', async () => {
    const created = await keys.create({ models: ['priced'], expiresInSeconds: 3600 });
    control.refresh();
    assert.match(created.key, /^sk-byz-[0-9a-f]{12}-[A-Za-z0-9_-]{32}$/);
    const stored = await fs.readFile(path.join(stateDirectory, 'keys.json'), 'utf8');
    assert.equal(stored.includes(created.key.slice(20)), false, 'the secret is not stored');
    assert.equal((await fs.stat(path.join(stateDirectory, 'keys.json'))).mode & 0o777, 0o600);

    assert.equal((await chat(created.key, 'priced')).status, 200);
    const refused = await chat(created.key, 'gpt_chat');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error?.code, 'model_not_allowed');
    assert.match(refused.body.error!.message, /may not use model gpt_chat; allowed: priced/);

    assert.equal((await chat(MASTER, 'gpt_chat')).status, 200, 'the master key still passes');
    assert.equal((await chat(`${created.key.slice(0, -1)}x`, 'priced')).status, 401);
    const anonymous = await fetch(`${gateway.url}/models`);
    assert.equal(anonymous.status, 401);
    const listed = await fetch(`${gateway.url}/models`, {
      headers: { authorization: `Bearer ${created.key}` },
    });
    assert.equal(listed.status, 200, 'a virtual key may list models');

    clock += 3601 * 1000;
    const expired = await chat(created.key, 'priced');
    assert.equal(expired.status, 401);
    assert.match(expired.body.error!.message, /expired at/);
    clock = Date.now();

    const revoked = await keys.create({});
    assert.equal((await chat(revoked.key, 'gpt_chat')).status, 200);
    await keys.revoke(revoked.view.prefix);
    const afterRevoke = await chat(revoked.key, 'gpt_chat');
    assert.equal(afterRevoke.status, 401);
    assert.match(afterRevoke.body.error!.message, /was revoked/);
  });

  test('a budget under 32 concurrent requests: cut off within one request per worker slot, spend = usage × price exactly', async () => {
    const costOf = (usage: { prompt_tokens: number; completion_tokens: number }) =>
      usage.prompt_tokens * PRICE_INPUT * 1e6 + usage.completion_tokens * PRICE_OUTPUT * 1e6;
    // About twelve requests' worth: each costs (words in) × 1.25 + (words out) × 3.5 per 1M tokens.
    const probe = await chat(MASTER, 'priced', 'a b c d e f g h');
    const oneRequestPico = costOf(probe.body.usage!);
    const budget = (oneRequestPico * 12) / 1e12;
    const { key, view } = await keys.create({ budget, models: ['priced'] });
    control.refresh();

    let accepted = 0;
    let refused = 0;
    let usagePico = 0;
    let next = 0;
    const worker = async () => {
      while (next < 96) {
        next++;
        const answer = await chat(key, 'priced', 'a b c d e f g h');
        if (answer.status === 200) {
          accepted++;
          usagePico += costOf(answer.body.usage!);
        } else {
          assert.equal(answer.status, 429);
          assert.equal(answer.body.error?.code, 'budget_exceeded');
          assert.equal(answer.body.error?.type, 'insufficient_quota');
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    // Sequential requests now that nothing is in flight: admitted until the spend reaches the budget.
    while ((await chat(key, 'priced', 'a b c d e f g h')).status === 200) {
      accepted++;
      usagePico += oneRequestPico;
    }
    const record = keys.get(view.id);
    assert.equal(record.spend.moneyPico, usagePico, 'spend is the upstream usage × price, exactly');
    assert.equal(record.spend.requests, accepted);
    const budgetPico = Math.round(budget * 1e12);
    assert.ok(refused > 0, 'the key was cut off under load');
    assert.ok(record.spend.moneyPico >= budgetPico, `spent ${record.spend.moneyPico} of ${budgetPico}`);
    assert.ok(
      record.spend.moneyPico <= budgetPico + SLOTS * oneRequestPico,
      `spent ${record.spend.moneyPico}, over ${budgetPico} by more than ${SLOTS} requests`,
    );
    const listed = keys.list().find((shown) => shown.id === view.id)!;
    assert.equal(listed.spend.money, record.spend.moneyPico / 1e12);
    assert.equal(Object.hasOwn(listed, 'hash') || Object.hasOwn(listed, 'salt'), false);
  });

  test('a streamed request is charged its usage, which the client sees only when it asked for it', async () => {
    const { key, view } = await keys.create({});
    control.refresh();
    for (const includeUsage of [false, true]) {
      const response = await fetch(`${gateway.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          model: 'priced',
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: 'user', content: 'one two three' }],
        }),
      });
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /echo: one two three|echo:/);
      assert.equal(text.includes('"usage":{'), includeUsage, text);
    }
    const spend = keys.get(view.id).spend;
    // The upstream counts words: 3 in, 4 out ("echo: one two three"), twice.
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 6, 8]);
    assert.equal(spend.moneyPico, 6 * PRICE_INPUT * 1e6 + 8 * PRICE_OUTPUT * 1e6);
  });

  test('a request through a route is charged at the price of the deployment that answered; a cache hit costs no tokens', async () => {
    const { key, view } = await keys.create({});
    control.refresh();
    const missed = await chat(key, 'priced/cached', 'four words of text');
    assert.equal(missed.status, 200);
    assert.equal(missed.headers.get('x-byzerllm-cache'), 'miss');
    assert.equal(missed.headers.get('x-byzerllm-deployment'), 'priced');
    assert.equal(missed.headers.get('x-byzerllm-attempts'), '1');
    const hit = await chat(key, 'priced/cached', 'four words of text');
    assert.equal(hit.headers.get('x-byzerllm-cache'), 'hit');
    const spend = keys.get(view.id).spend;
    // The upstream counts words: 4 in, 5 out ("echo: four words of text"), once; the hit used none.
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 4, 5]);
    assert.equal(spend.moneyPico, 4 * PRICE_INPUT * 1e6 + 5 * PRICE_OUTPUT * 1e6);
  });

  test('a stream through a route is charged its usage, which the client did not ask to see', async () => {
    const { key, view } = await keys.create({});
    control.refresh();
    const response = await fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      // Past the cache, so the answer comes from the upstream.
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        'x-byzerllm-cache': 'skip',
      },
      body: JSON.stringify({
        model: 'priced/cached',
        stream: true,
        messages: [{ role: 'user', content: 'one two three' }],
      }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'priced');
    const text = await response.text();
    // With a ticket a route takes the pass-through too (each try takes its slot under the ticket):
    // the stream is the upstream's, with its `system_fingerprint`.
    assert.match(text, /fp_byzerllm_test/);
    assert.equal(text.includes('"usage":{'), false, text);
    const spend = keys.get(view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [1, 3, 4]);
    assert.equal(spend.moneyPico, 3 * PRICE_INPUT * 1e6 + 4 * PRICE_OUTPUT * 1e6);
  });

  test('rpm limits per deployment and per key answer 429 with Retry-After past the limit', async () => {
    await keys.setDeploymentLimits('gpt_chat', { rpm: 5 });
    control.refresh();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let index = 0; index < 8; index++) {
      const answer = await chat(MASTER, 'gpt_chat');
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers.get('retry-after');
        assert.equal(answer.body.error?.code, 'rate_limit_exceeded');
        assert.match(answer.body.error!.message, /rate limit of model gpt_chat reached \(5 rpm\)/);
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
    clock += 60_001;
    assert.equal((await chat(MASTER, 'gpt_chat')).status, 200, 'the window slides');
    await keys.setDeploymentLimits('gpt_chat', undefined);

    const limited = await keys.create({ rpm: 2 });
    control.refresh();
    const keyStatuses = [];
    for (let index = 0; index < 3; index++) keyStatuses.push((await chat(limited.key, 'gpt_chat')).status);
    assert.deepEqual(keyStatuses, [200, 200, 429]);
    clock = Date.now() + 120_000;
  });
});
