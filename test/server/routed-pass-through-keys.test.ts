/**
 * Keyed requests through a route on the OpenAI pass-through (issue 19): the key's ticket travels
 * with every try to the head, which checks it when the try takes its worker slot — a target at its
 * own rpm limit refuses that try with its 429, the route falls back to the next target, and the key
 * is charged at the price of the target that answered. A keyed request to a deployment by name is
 * still admitted and charged. Real parts: an in-process head with the access control as its ticket
 * charges, the gateway on a port, and a loopback upstream speaking OpenAI's chat protocol.
 *
 * The upstream stand-in puts `system_fingerprint: fp_byzerllm_test` in its answers; the general path
 * builds its own answers without it, so its presence shows the pass-through served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AccessControl, VirtualKeyStore } from '../../src/cluster/index.js';
import type { Gateway } from './gateway-fixture.js';
import { type KeyedGateway, startKeyedGateway } from './keyed-gateway-fixture.js';

const FINGERPRINT = 'fp_byzerllm_test';
/** Prices per 1M tokens, as deployed, and per token in pico-units (what a key's spend counts). */
const CHEAP = { input: '1', output: '2', inputPico: 1_000_000, outputPico: 2_000_000 };
const DEAR = { input: '10', output: '20', inputPico: 10_000_000, outputPico: 20_000_000 };

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

function costOf(usage: Usage, price: { inputPico: number; outputPico: number }): number {
  return usage.prompt_tokens * price.inputPico + usage.completion_tokens * price.outputPico;
}

describe('keyed requests through a route on the OpenAI pass-through', () => {
  let keyed: KeyedGateway;
  let gateway: Gateway;
  let keys: VirtualKeyStore;
  let control: AccessControl;

  before(async () => {
    const saas = (name: string, price: typeof CHEAP) => ({
      name,
      pretrainedModelType: 'saas/openai',
      inferParams: { 'gateway.price_input': price.input, 'gateway.price_output': price.output },
    });
    keyed = await startKeyedGateway('byzerllm-routed-keys-', async () => [
      saas('chat_cheap', CHEAP),
      saas('chat_dear', DEAR),
    ]);
    ({ gateway, keys, control } = keyed);
    await keyed.governance.set('chat/route', {
      strategy: 'fallback',
      targets: [{ deployment: 'chat_cheap' }, { deployment: 'chat_dear' }],
    });
  });
  after(async () => {
    await keyed?.close();
  });

  async function newKey() {
    const created = await keys.create({ budget: 1, models: ['chat/route', 'chat_cheap', 'chat_dear'] });
    control.refresh();
    return created;
  }

  const ask = (key: string, body: Record<string, unknown>) =>
    fetch(`${gateway.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
  const moneyOf = (id: string) => keys.get(id).spend.moneyPico;
  const chatBodies = () =>
    gateway.upstream.requests
      .filter((request) => request.path === '/v1/chat/completions')
      .map((request) => request.body as Record<string, unknown>);

  test('a target at its own rpm limit is passed over on the pass-through: the next answers, at its price', async () => {
    const { key, view } = await newKey();
    await keys.setDeploymentLimits('chat_cheap', { rpm: 1 });
    control.refresh();
    const body = { model: 'chat/route', messages: [{ role: 'user', content: 'limited route' }] };
    const first = await ask(key, body);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-byzerllm-deployment'), 'chat_cheap');
    const firstAnswer = (await first.json()) as { system_fingerprint?: string; usage: Usage };
    assert.equal(firstAnswer.system_fingerprint, FINGERPRINT, 'served on the pass-through');
    assert.equal(moneyOf(view.id), costOf(firstAnswer.usage, CHEAP));

    const second = await ask(key, body);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-byzerllm-deployment'), 'chat_dear');
    assert.equal(second.headers.get('x-byzerllm-attempts'), '2');
    const secondAnswer = (await second.json()) as {
      system_fingerprint?: string;
      model: string;
      usage: Usage;
    };
    assert.equal(secondAnswer.system_fingerprint, FINGERPRINT, 'the fallback served on the pass-through');
    assert.equal(secondAnswer.model, 'chat/route');
    assert.ok(secondAnswer.usage.completion_tokens > 0);
    assert.equal(moneyOf(view.id), costOf(firstAnswer.usage, CHEAP) + costOf(secondAnswer.usage, DEAR));
    assert.equal(keys.get(view.id).spend.requests, 2);
    // The refused try gave its slot back: every slot of chat_cheap is free.
    const slots = gateway.head.specOf('chat_cheap')!.workerConcurrency;
    assert.deepEqual((await gateway.head.stat('chat_cheap')).state, [slots]);

    // The refused try cooled chat_cheap down for the window's Retry-After: the route goes straight on.
    const third = await ask(key, body);
    assert.equal(third.headers.get('x-byzerllm-deployment'), 'chat_dear');
    assert.equal(third.headers.get('x-byzerllm-attempts'), '1');
    await third.json();
  });

  test('a keyed stream on the pass-through is charged from the usage asked for it, not shown to the client', async () => {
    const { key, view } = await newKey();
    const body = { model: 'chat/route', stream: true, messages: [{ role: 'user', content: 'stream a b c' }] };
    const shown = await ask(key, { ...body, stream_options: { include_usage: true } });
    assert.equal(shown.headers.get('x-byzerllm-deployment'), 'chat_dear', 'chat_cheap is still cooled down');
    const shownText = await shown.text();
    assert.match(shownText, new RegExp(FINGERPRINT));
    const usageEvent = shownText
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .find((event) => event.includes('"usage":{'));
    const usage = (JSON.parse(usageEvent!) as { usage: Usage }).usage;
    const cost = costOf(usage, DEAR);
    assert.ok(cost > 0);
    assert.equal(moneyOf(view.id), cost);

    const hidden = await ask(key, body);
    const hiddenText = await hidden.text();
    assert.match(hiddenText, new RegExp(FINGERPRINT));
    assert.equal(hiddenText.includes('"usage":{'), false, 'usage was asked for the key, not by the client');
    assert.deepEqual(chatBodies().at(-1)!.stream_options, { include_usage: true });
    assert.equal(moneyOf(view.id), 2 * cost, 'the same answer, charged again at the same price');
  });

  test('a keyed request to a deployment by name is still admitted and charged, and refused at its limit', async () => {
    const { key, view } = await newKey();
    const dear = await ask(key, { model: 'chat_dear', messages: [{ role: 'user', content: 'by name' }] });
    assert.equal(dear.status, 200);
    const answer = (await dear.json()) as { usage: Usage };
    assert.equal(moneyOf(view.id), costOf(answer.usage, DEAR));
    const cheap = await ask(key, { model: 'chat_cheap', messages: [{ role: 'user', content: 'by name' }] });
    assert.equal(cheap.status, 429);
    assert.match(
      ((await cheap.json()) as { error: { message: string } }).error.message,
      /rate limit of model chat_cheap reached \(1 rpm\)/,
    );
    assert.equal(moneyOf(view.id), costOf(answer.usage, DEAR), 'a refusal costs nothing');
  });
});
