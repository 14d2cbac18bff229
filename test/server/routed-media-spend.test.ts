/**
 * Rerank, speech and image generation through a route are charged at the price of the deployment
 * that answered (`gateway.price_request`; per image for images), never at the route name's, and
 * name it in `x-byzerllm-deployment` / `x-byzerllm-attempts` — also when the first target fails and
 * the second answers. Real parts throughout: an in-process head, the gateway on a port, a loopback
 * upstream speaking OpenAI's speech and images protocol, and the tiny ONNX cross-encoder on the
 * transformers engine for rerank (the project has no SaaS reranker).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { AccessControl, VirtualKeyStore } from '../../src/cluster/index.js';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';
import type { Gateway } from './gateway-fixture.js';
import { type KeyedGateway, MASTER_KEY, startKeyedGateway } from './keyed-gateway-fixture.js';

/** Two prices per request, as deployed and in pico-units (what a key's spend counts). */
const CHEAP = { param: '0.002', pico: 2_000_000_000 };
const DEAR = { param: '0.05', pico: 50_000_000_000 };

function priced(price: { param: string }): Record<string, string> {
  return { 'gateway.price_request': price.param };
}

describe('rerank, speech and images through a route: the answering target is named and charged', () => {
  let keyed: KeyedGateway;
  let gateway: Gateway;
  let keys: VirtualKeyStore;
  let control: AccessControl;

  before(async () => {
    const saas = (name: string, model: string, price: { param: string }) => ({
      name,
      pretrainedModelType: 'saas/openai',
      inferParams: { ...priced(price), 'saas.model': model },
    });
    keyed = await startKeyedGateway('byzerllm-routed-media-', async (stateDirectory) => {
      const modelFolder = path.join(stateDirectory, 'reranker');
      await writeTinyBertModel(modelFolder, { task: 'rerank' });
      const reranker = (name: string, price: { param: string }) => ({
        name,
        pretrainedModelType: 'custom/bge_rerank',
        inferBackend: 'transformers',
        modelPath: modelFolder,
        inferParams: priced(price),
      });
      return [
        saas('tts_cheap', 'tts-1', CHEAP),
        saas('tts_dear', 'tts-1', DEAR),
        saas('image_cheap', 'dall-e-3', CHEAP),
        saas('image_dear', 'dall-e-3', DEAR),
        reranker('rerank_cheap', CHEAP),
        reranker('rerank_dear', DEAR),
      ];
    });
    ({ gateway, keys, control } = keyed);
    // Fallback in price order: the cheap target answers unless it fails.
    for (const [route, kind] of [
      ['speech/route', 'tts'],
      ['images/route', 'image'],
      ['rerank/route', 'rerank'],
    ] as const) {
      await keyed.governance.set(route, {
        strategy: 'fallback',
        targets: [{ deployment: `${kind}_cheap` }, { deployment: `${kind}_dear` }],
      });
    }
  });
  after(async () => {
    await keyed?.close();
  });

  async function newKey(route: string) {
    const created = await keys.create({ budget: 1, models: [route] });
    control.refresh();
    return { client: new OpenAI({ baseURL: gateway.url, apiKey: created.key, maxRetries: 0 }), ...created };
  }

  function assertSpend(id: string, requests: number, moneyPico: number): void {
    const spend = keys.get(id).spend;
    assert.deepEqual(
      { requests: spend.requests, moneyPico: spend.moneyPico, seconds: spend.seconds },
      { requests, moneyPico, seconds: 0 },
      'charged the answering target price per request, no time',
    );
  }

  test('speech: the cheap target answers; after it fails, the dear one answers at its price', async () => {
    const { client, view } = await newKey('speech/route');
    const speak = () =>
      client.audio.speech
        .create({ model: 'speech/route', input: 'hello there', voice: 'nova' })
        .withResponse();
    const { data, response } = await speak();
    assert.equal(Buffer.from(await data.arrayBuffer()).toString(), 'FAKE-MP3:nova:hello there');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'tts_cheap');
    assert.equal(response.headers.get('x-byzerllm-attempts'), '1');
    assertSpend(view.id, 1, CHEAP.pico);

    gateway.upstream.failNext({ status: 500 });
    const fallback = await speak();
    assert.equal(Buffer.from(await fallback.data.arrayBuffer()).toString(), 'FAKE-MP3:nova:hello there');
    assert.equal(fallback.response.headers.get('x-byzerllm-deployment'), 'tts_dear');
    assert.equal(fallback.response.headers.get('x-byzerllm-attempts'), '2');
    assertSpend(view.id, 2, CHEAP.pico + DEAR.pico);
  });

  test('images: billed per image generated, at the price of the target that answered', async () => {
    const { client, view } = await newKey('images/route');
    const generate = () =>
      client.images
        .generate({ model: 'images/route', prompt: 'a cat', n: 2, response_format: 'b64_json' })
        .withResponse();
    const { data, response } = await generate();
    assert.equal(data.data?.length, 2);
    assert.equal(Buffer.from(data.data![0]!.b64_json!, 'base64').toString(), 'FAKE-PNG:1024x1024:a cat');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'image_cheap');
    assertSpend(view.id, 1, 2 * CHEAP.pico);

    gateway.upstream.failNext({ status: 500 });
    const fallback = await generate();
    assert.equal(fallback.response.headers.get('x-byzerllm-deployment'), 'image_dear');
    assert.equal(fallback.response.headers.get('x-byzerllm-attempts'), '2');
    assertSpend(view.id, 2, 2 * (CHEAP.pico + DEAR.pico));

    // Every target failing: the last one tried is named, and a failure costs nothing.
    gateway.upstream.failNext({ status: 500 }, { status: 500 });
    const failed = await generate().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failed instanceof OpenAI.APIError, `got ${String(failed)}`);
    assert.equal(failed.headers?.get('x-byzerllm-deployment'), 'image_dear');
    assert.equal(failed.headers?.get('x-byzerllm-attempts'), '2');
    assertSpend(view.id, 3, 2 * (CHEAP.pico + DEAR.pico));
  });

  test('rerank: the cheap reranker answers; once it is gone, the dear one answers at its price', async () => {
    const { key, view } = await newKey('rerank/route');
    const rerank = () =>
      fetch(`${gateway.url}/rerank`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'rerank/route',
          query: 'what is a cat',
          documents: ['a cat', 'stocks'],
        }),
      });
    const first = await rerank();
    assert.equal(first.status, 200);
    const ranked = (await first.json()) as { results: { index: number }[] };
    assert.deepEqual(ranked.results.map((result) => result.index).sort(), [0, 1]);
    assert.equal(first.headers.get('x-byzerllm-deployment'), 'rerank_cheap');
    assert.equal(first.headers.get('x-byzerllm-attempts'), '1');
    assertSpend(view.id, 1, CHEAP.pico);

    await gateway.head.undeploy('rerank_cheap');
    const fallback = await rerank();
    assert.equal(fallback.status, 200, await fallback.clone().text());
    assert.equal(fallback.headers.get('x-byzerllm-deployment'), 'rerank_dear');
    assert.equal(fallback.headers.get('x-byzerllm-attempts'), '2');
    assertSpend(view.id, 2, CHEAP.pico + DEAR.pico);
  });

  test('a target at its own rpm limit is passed over: the next target answers, at its price', async () => {
    const { client, view } = await newKey('speech/route');
    await keys.setDeploymentLimits('tts_cheap', { rpm: 1 });
    control.refresh();
    const speak = () =>
      client.audio.speech.create({ model: 'speech/route', input: 'limited', voice: 'nova' }).withResponse();
    // tts_cheap answered twice in the first test, outside any limit; the window counts from now on.
    const first = await speak();
    assert.equal(first.response.headers.get('x-byzerllm-deployment'), 'tts_cheap');
    const second = await speak();
    assert.equal(Buffer.from(await second.data.arrayBuffer()).toString(), 'FAKE-MP3:nova:limited');
    assert.equal(second.response.headers.get('x-byzerllm-deployment'), 'tts_dear');
    assert.equal(second.response.headers.get('x-byzerllm-attempts'), '2');
    assertSpend(view.id, 2, CHEAP.pico + DEAR.pico);
    // The refused try cooled tts_cheap down for the window's Retry-After: the route goes straight on.
    const third = await speak();
    assert.equal(third.response.headers.get('x-byzerllm-deployment'), 'tts_dear');
    assert.equal(third.response.headers.get('x-byzerllm-attempts'), '1');
    // Sent by name (with the master key), the deployment is refused from the same window.
    const master = new OpenAI({ baseURL: gateway.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const direct = await master.audio.speech
      .create({ model: 'tts_cheap', input: 'limited', voice: 'nova' })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(direct instanceof OpenAI.RateLimitError, `got ${String(direct)}`);
    assert.match(direct.message, /rate limit of model tts_cheap reached \(1 rpm\)/);
  });
});
