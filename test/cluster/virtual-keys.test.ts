/**
 * The pieces of virtual keys without a gateway: the sliding rate window, the key store on disk
 * (hashed, 0600, zod on read) and `AccessControl`'s reservations (budget held by requests in
 * flight, released when they settle or, for a gateway that died, after their lifetime), and seconds
 * budgets checked on a worker slot and charged from the worker's report.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AccessControl, RateWindow, VirtualKeyStore } from '../../src/cluster/index.js';
import { usageOf } from '../../src/cluster/slot-charge.js';
import { deploymentSpecSchema, tokenPriceOf } from '../../src/core/index.js';

describe('RateWindow', () => {
  test('holds the limit over any 60 s and says when the oldest entry leaves', () => {
    const window = new RateWindow(3);
    for (const at of [0, 10, 20]) {
      assert.equal(window.waitMs(1, at), 0);
      window.add(1, at);
    }
    assert.equal(window.waitMs(1, 30), 59_970, 'the entry of t=0 leaves at 60,000');
    assert.equal(window.waitMs(1, 60_000), 0);
    assert.equal(window.used(60_015), 1);
  });

  test('a tpm entry corrected to the real usage frees room; one over the limit passes an empty window', () => {
    const window = new RateWindow(100);
    const entry = window.add(90, 0);
    assert.ok(window.waitMs(20, 1) > 0);
    window.correct(entry, 90, 10);
    assert.equal(window.waitMs(20, 1), 0);
    assert.equal(new RateWindow(100).waitMs(500, 0), 0);
  });

  test('amounts of one millisecond share an entry, corrected each by its own; the ring grows without losing any', () => {
    const window = new RateWindow(1_000_000);
    const first = window.add(50, 5);
    const second = window.add(30, 5);
    assert.equal(first, second, 'one entry for one millisecond');
    window.correct(first, 50, 10);
    assert.equal(window.used(5), 40);
    // 200 entries, one per millisecond from t=1,000: more than the ring's first size.
    const entries = Array.from({ length: 200 }, (_, index) => window.add(index + 1, 1_000 + index));
    assert.equal(window.used(1_199), 40 + (200 * 201) / 2);
    window.correct(entries[0]!, 1, 1_001);
    // t=5 leaves at 60,005; t=1,000 (now 1,001) and t=1,001 (2) leave at 61,001.
    assert.equal(window.used(60_005), (200 * 201) / 2 + 1_000);
    assert.equal(window.used(61_001), (200 * 201) / 2 - 3);
    window.correct(entries[0]!, 1_001, 5);
    assert.equal(
      window.used(61_001),
      (200 * 201) / 2 - 3,
      'a correction after the entry left changes nothing',
    );
    // 7 over the limit: t=1,002 (3) and t=1,003 (4) must leave first, at 61,003.
    assert.equal(window.waitMs(1_000_000 - (200 * 201) / 2 + 3 + 7, 61_001), 2);
  });
});

test('a price with more than 6 decimals, or not a number, fails the deploy naming the param', () => {
  const spec = (price: string) =>
    deploymentSpecSchema.safeParse({
      name: 'priced',
      pretrainedModelType: 'saas/openai',
      inferParams: { 'gateway.price_input': price },
    });
  assert.equal(spec('0.15').success, true);
  assert.deepEqual(tokenPriceOf({ 'gateway.price_input': '0.15' }), {
    inputPicoPerToken: 150_000,
    outputPicoPerToken: 0,
    requestPico: 0,
  });
  for (const bad of ['abc', '0.1234567', '-1']) {
    const parsed = spec(bad);
    assert.equal(parsed.success, false);
    assert.match(parsed.error!.issues[0]!.message, /gateway\.price_input=.* must be a price per 1M tokens/);
  }
});

test('a price per request is parsed from its digits to exact pico-units; a bad one fails the deploy', () => {
  // 4.35 × 1e12 in floating point is 4349999999999.9995: the digits decide, not arithmetic.
  assert.equal(tokenPriceOf({ 'gateway.price_request': '4.35' })?.requestPico, 4_350_000_000_000);
  assert.deepEqual(tokenPriceOf({ 'gateway.price_request': '0.000000003' }), {
    inputPicoPerToken: 0,
    outputPicoPerToken: 0,
    requestPico: 3000,
  });
  assert.equal(tokenPriceOf({ 'gateway.price_request': '999.123456789' })?.requestPico, 999_123_456_789_000);
  assert.equal(tokenPriceOf({ 'gateway.price_request': '7' })?.requestPico, 7e12);
  for (const bad of ['1000', '0.0000000001', '.5', '1e3']) {
    const parsed = deploymentSpecSchema.safeParse({
      name: 'priced',
      pretrainedModelType: 'saas/openai',
      inferParams: { 'gateway.price_request': bad },
    });
    assert.equal(parsed.success, false, bad);
    assert.match(parsed.error!.issues[0]!.message, /gateway\.price_request=.* must be a price per request/);
  }
});

describe('VirtualKeyStore and AccessControl', () => {
  let directory: string;
  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-key-store-'));
  });
  after(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  test('keys survive a reload hashed; a tampered file is refused naming the field', async () => {
    const store = new VirtualKeyStore(directory);
    const { key, view } = await store.create({ name: 'ci', models: ['a'], rpm: 5 });
    await store.setDeploymentLimits('a', { tpm: 1000 });
    const reloaded = new VirtualKeyStore(directory);
    await reloaded.load();
    assert.equal(reloaded.find(key)?.id, view.id);
    assert.equal(reloaded.find(`${key.slice(0, -2)}AA`), undefined);
    assert.deepEqual(reloaded.deploymentLimits.get('a'), { tpm: 1000 });
    const file = path.join(directory, 'keys.json');
    const text = await fs.readFile(file, 'utf8');
    // The secret is the 32 characters after `sk-byz-<12 hex id>-` (base64url: it may hold `-` itself).
    assert.equal(text.includes(key.slice('sk-byz-'.length + 13)), false);
    await reloaded.revoke(view.prefix);
    const again = new VirtualKeyStore(directory);
    await again.load();
    assert.ok(again.get(view.id).revokedAt);

    await fs.writeFile(file, text.replace('"rpm": 5', '"rpm": 5, "admin": true'));
    await assert.rejects(new VirtualKeyStore(directory).load(), /admin/);
    await assert.rejects(store.create({ budget: 9001 }), /invalid key setting budget/);
  });

  test('reservations hold a budget while in flight and are dropped when never settled', async () => {
    let clock = 1_000_000;
    const keys = new VirtualKeyStore(undefined, () => clock);
    const price = tokenPriceOf({ 'gateway.price_input': '1000', 'gateway.price_output': '1000' });
    const control = new AccessControl({ keys, priceOf: () => price, now: () => clock });
    // One request of 1,000 tokens costs 1 at 1,000 per 1M tokens: the budget admits one at a time.
    const { key } = await keys.create({ budget: 1 });
    control.refresh();
    const request = { master: false, open: false, key, model: 'a', inputTokens: 500, outputTokens: 500 };
    const first = control.admitNow(request);
    assert.equal(first.ok, true);
    const second = control.admitNow(request);
    assert.equal(second.ok, false);
    assert.match(!second.ok ? second.refusal.message : '', /reserved by requests in flight/);

    clock += 31 * 60_000;
    for (let index = 0; index < 1024; index++) control.admitNow({ ...request, master: true, key: undefined });
    assert.equal(control.admitNow(request).ok, true, 'the unsettled reservation was dropped');
  });

  test('a price per request is reserved at admission and charged per billed request at settle', async () => {
    const keys = new VirtualKeyStore(undefined);
    const price = tokenPriceOf({ 'gateway.price_request': '0.04', 'gateway.price_input': '1' });
    const control = new AccessControl({ keys, priceOf: (name) => (name === 'images' ? price : undefined) });
    // 1.5 requests' worth: admitted while spent + reserved < budget, so two are and a third is not.
    const { key, view } = await keys.create({ budget: 0.06 });
    control.refresh();
    const request = { master: false, open: false, key, model: 'images', inputTokens: 0, outputTokens: 0 };
    const [first, second, third] = [1, 2, 3].map(() => control.admitNow(request));
    assert.ok(first?.ok && first.ticket && second?.ok && second.ticket);
    assert.equal(third?.ok, false);
    const usage = { deployment: 'images', inputTokens: 3, outputTokens: 0, seconds: 1 };
    // A failure bills no request; an image generation of two images bills two.
    control.settle({ ...usage, ticket: first.ticket });
    assert.equal(keys.get(view.id).spend.moneyPico, 3 * 1e6);
    control.settle({ ...usage, ticket: second.ticket, requests: 2 });
    const spend = keys.get(view.id).spend;
    assert.equal(spend.moneyPico, 2 * 3 * 1e6 + 2 * 0.04e12);
    assert.deepEqual([spend.requests, spend.seconds], [2, 0], 'a priced deployment charges no seconds');
  });
  test("a route's tries count against each target's own limits on its slot; its reservation is the dearest target's", async () => {
    const keys = new VirtualKeyStore(undefined);
    await keys.setDeploymentLimits('cheap', { rpm: 1, tpm: 100 });
    const prices: Record<string, ReturnType<typeof tokenPriceOf>> = {
      cheap: tokenPriceOf({ 'gateway.price_request': '0.01' }),
      dear: tokenPriceOf({ 'gateway.price_request': '0.05' }),
    };
    const control = new AccessControl({
      keys,
      priceOf: (name) => prices[name],
      targetsOf: (name) => (name === 'route' ? ['cheap', 'dear'] : undefined),
    });
    control.refresh();
    const viaRoute = { master: true, open: false, model: 'route', inputTokens: 30, outputTokens: 30 };
    // The master key has no budget, but the route's target has limits: its tries need a ticket.
    const first = control.admitNow(viaRoute);
    assert.ok(first.ok && first.ticket);
    control.start(first.ticket, 'cheap');
    control.settle({
      ticket: first.ticket,
      deployment: 'cheap',
      inputTokens: 5,
      outputTokens: 5,
      seconds: 0,
    });
    const second = control.admitNow(viaRoute);
    assert.ok(second.ok && second.ticket, "the route's own name has no limit");
    assert.throws(
      () => control.start(second.ticket!, 'cheap'),
      (error: Error & { code?: string; details?: { retryAfterSeconds?: number } }) =>
        error.code === 'upstream_rate_limit' &&
        error.details?.retryAfterSeconds === 60 &&
        /rate limit of model cheap reached \(1 rpm, 100 tpm\)/.test(error.message),
    );
    control.start(second.ticket, 'dear');
    // The same window holds requests sent to the deployment by name.
    const direct = control.admitNow({ ...viaRoute, model: 'cheap' });
    assert.equal(direct.ok, false);

    // Budgets reserve at the dearest target (0.05): a budget of 0.075 admits two requests in flight,
    // where the cheap target's price would have admitted eight.
    const { key } = await keys.create({ budget: 0.075 });
    control.refresh();
    const keyed = { ...viaRoute, master: false, key };
    assert.equal(control.admitNow(keyed).ok, true);
    assert.equal(control.admitNow(keyed).ok, true);
    assert.equal(control.admitNow(keyed).ok, false);
  });

  test('a seconds budget is checked when a request takes its slot and charged from the worker report', async () => {
    const keys = new VirtualKeyStore(directory);
    const control = new AccessControl({ keys, priceOf: () => undefined });
    const { key, view } = await keys.create({ budgetSeconds: 1 });
    control.refresh();
    const request = { master: false, open: false, key, model: 'tiny', inputTokens: 5, outputTokens: 8 };
    const tickets = [1, 2, 3].map(() => {
      const admission = control.admitNow(request);
      assert.ok(admission.ok && admission.ticket, 'nothing is reserved: every request is admitted');
      return admission.ticket;
    });
    control.start(tickets[0]!, 'tiny');
    // An embedding's usage has no output tokens: its busy seconds are charged all the same.
    control.charge(tickets[0]!, usageOf({ embeddings: [[1]], usage: { inputTokens: 5, cpuSeconds: 0.6 } }));
    control.start(tickets[1]!, 'tiny');
    // A call result crosses the wire unchecked: usageOf checks it with the wire's schema, and a
    // negative or non-finite report counts as nothing.
    for (const usage of [
      { inputTokens: 5, outputTokens: 8, cpuSeconds: -5 },
      { inputTokens: 5, outputTokens: 8, gpuSeconds: Number.NaN },
      { inputTokens: 5, outputTokens: 8, cpuSeconds: Number.POSITIVE_INFINITY },
      { inputTokens: 5, outputTokens: 8, cpuSeconds: '3' },
    ])
      assert.equal(usageOf({ usage }), undefined, `accepted ${JSON.stringify(usage)}`);
    control.charge(tickets[1]!, usageOf({ usage: { inputTokens: 5, outputTokens: 8, cpuSeconds: -5 } }));
    assert.equal(keys.get(view.id).spend.seconds, 0.6);
    control.start(tickets[2]!, 'tiny');
    control.charge(tickets[2]!, { gpuSeconds: 0.5 });
    control.charge(tickets[2]!, { gpuSeconds: 0.5 });
    const spend = keys.get(view.id).spend;
    assert.deepEqual(
      [spend.seconds, spend.cpuSeconds, spend.gpuSeconds],
      [1.1, 0.6, 0.5],
      'charged once each',
    );

    // Spent: a new request is refused at admission.
    const late = control.admitNow(request) as { ok: false; refusal: { reason: string; message: string } };
    assert.equal(late.ok, false);
    assert.equal(late.refusal.reason, 'budget_exceeded');
    assert.match(late.refusal.message, /has used its budget of 1 seconds \(spent 1\.1 s\)/);
    for (const ticket of tickets) {
      control.settle({
        ticket,
        deployment: 'tiny',
        inputTokens: 5,
        outputTokens: 8,
        seconds: 9,
        metered: true,
      });
    }
    assert.equal(keys.get(view.id).spend.seconds, 1.1, 'a metered answer adds no gateway time');
    assert.equal(keys.get(view.id).spend.requests, 3);

    const second = await keys.create({ budgetSeconds: 10 });
    control.refresh();
    // Two requests admitted together; the first one's charge spends the budget while the second
    // waits for a slot: the second is refused when it gets one.
    const [running, queued] = [1, 2].map(() => {
      const admission = control.admitNow({ ...request, key: second.key });
      assert.ok(admission.ok && admission.ticket);
      return admission.ticket;
    });
    control.start(running!, 'tiny');
    control.charge(running!, { cpuSeconds: 10 });
    assert.throws(
      () => control.start(queued!, 'tiny'),
      (error: Error & { details?: { reason?: string } }) =>
        error.details?.reason === 'budget_exceeded' && /budget of 10 seconds/.test(error.message),
    );
    assert.equal(control.admitNow({ ...request, key: second.key }).ok, false);

    await keys.flush();
    const reloaded = new VirtualKeyStore(directory);
    await reloaded.load();
    assert.equal(reloaded.get(view.id).budgetSeconds, 1);
    assert.equal(reloaded.get(view.id).spend.gpuSeconds, 0.5);
  });

  test('keys.json written before CPU/GPU-seconds existed still loads', async () => {
    const older = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-key-store-old-'));
    try {
      const store = new VirtualKeyStore(older);
      const { view } = await store.create({ budget: 2 });
      const file = path.join(older, 'keys.json');
      const content = JSON.parse(await fs.readFile(file, 'utf8')) as {
        keys: { spend: Record<string, number> }[];
      };
      for (const record of content.keys) {
        delete record.spend.cpuSeconds;
        delete record.spend.gpuSeconds;
        record.spend.seconds = 4.5;
      }
      await fs.writeFile(file, JSON.stringify(content));
      const reloaded = new VirtualKeyStore(older);
      await reloaded.load();
      const spend = reloaded.get(view.id).spend;
      assert.deepEqual([spend.seconds, spend.cpuSeconds, spend.gpuSeconds], [4.5, 0, 0]);
    } finally {
      await fs.rm(older, { recursive: true, force: true });
    }
  });
});
