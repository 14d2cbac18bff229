/**
 * Budgets and limits reach every entry point of the gateway (in-process head, a route, a loopback
 * OpenAI upstream that returns usage, real clients): a stream through a route with a budgeted key is
 * charged the upstream's usage whether or not the client asked to see it; the Responses API (the
 * `openai` SDK) and the Anthropic Messages API (fetch) are admitted and settled like chat
 * completions: a key's models allow-list, its rpm, and its budget.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  AccessControl,
  Governance,
  type Head,
  pricesOfSpecs,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

/** Per 1M tokens: 6 decimals at most, so a token costs a whole number of pico-units. */
const PRICE_INPUT = 1.5;
const PRICE_OUTPUT = 4.25;
const ROUTE = 'chat/governed';

/** What the upstream's usage costs, in pico-units: its counts × the price of `priced`. */
function costPico(inputTokens: number, outputTokens: number): number {
  return inputTokens * PRICE_INPUT * 1e6 + outputTokens * PRICE_OUTPUT * 1e6;
}

/** The echo upstream counts words: the prompt's, and the answer's (`echo: <prompt>`). */
function wordsOf(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

describe('budgets and limits on every gateway entry point', () => {
  let gateway: Gateway;
  let stateDirectory: string;
  let keys: VirtualKeyStore;
  let control: AccessControl;
  let head: Head | undefined;

  before(async () => {
    stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-governed-'));
    keys = new VirtualKeyStore(stateDirectory);
    control = new AccessControl({ keys, priceOf: pricesOfSpecs((name) => head?.specOf(name)) });
    const governance = new Governance();
    gateway = await startGateway({
      server: { apiKey: 'master-key-0123456789', gate: control },
      governance,
      deployments: [
        {
          name: 'priced',
          pretrainedModelType: 'saas/openai',
          workerConcurrency: 4,
          inferParams: {
            'gateway.price_input': String(PRICE_INPUT),
            'gateway.price_output': String(PRICE_OUTPUT),
          },
        },
        {
          // Nothing listens on port 1: every try fails, so the route falls back to `priced`.
          name: 'dead',
          pretrainedModelType: 'saas/openai',
          inferParams: { 'saas.base_url': 'http://127.0.0.1:1/v1' },
        },
      ],
    });
    head = gateway.head;
    await governance.set(ROUTE, {
      strategy: 'fallback',
      targets: [{ deployment: 'dead' }, { deployment: 'priced' }],
    });
  });
  after(async () => {
    await gateway?.close();
    // Spend is written to keys.json after each settle; wait for the last write before removing it.
    await keys?.flush();
    await fs.rm(stateDirectory, { recursive: true, force: true });
  });

  async function newKey(options: Parameters<VirtualKeyStore['create']>[0]) {
    const created = await keys.create(options);
    control.refresh();
    return created;
  }

  test('a stream through a route is charged the upstream usage, shown only to a client that asked', async () => {
    const { key, view } = await newKey({ budget: 1, models: [ROUTE] });
    const client = new OpenAI({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    const prompt = 'count these five words';
    let expectedPico = 0;
    for (const includeUsage of [false, true]) {
      const stream = await client.chat.completions.create({
        model: ROUTE,
        stream: true,
        messages: [{ role: 'user', content: prompt }],
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      let text = '';
      const usages: unknown[] = [];
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usages.push(chunk.usage);
      }
      assert.equal(text, `echo: ${prompt}`);
      const sent = gateway.upstream.requests.filter((request) => request.path === '/v1/chat/completions');
      const body = sent.at(-1)!.body as { stream_options?: { include_usage?: boolean } };
      assert.equal(body.stream_options?.include_usage, true, 'the upstream is asked for usage either way');
      const [inputTokens, outputTokens] = [wordsOf(prompt), wordsOf(text)];
      assert.deepEqual(
        usages,
        includeUsage
          ? [{ prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: 9 }]
          : [],
      );
      expectedPico += costPico(inputTokens, outputTokens);
    }
    const spend = keys.get(view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 8, 10]);
    assert.equal(spend.moneyPico, expectedPico, 'spend is the upstream usage × the answering target price');
  });

  test('Responses and Messages through a route: the answering target is named and its price charged', async () => {
    const { key, view } = await newKey({ budget: 1, models: [ROUTE] });
    const client = new OpenAI({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    const { data, response } = await client.responses
      .create({ model: ROUTE, input: 'four words right here', store: false })
      .withResponse();
    assert.equal(data.output_text, 'echo: four words right here');
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'priced');
    assert.ok(Number(response.headers.get('x-byzerllm-attempts')) >= 1);
    const streamed = await fetch(`${gateway.origin}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: ROUTE,
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'four words right here' }],
      }),
    });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get('x-byzerllm-deployment'), 'priced');
    assert.match(await streamed.text(), /echo: four words right here|event: message_stop/);
    const spend = keys.get(view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 8, 10]);
    assert.equal(spend.moneyPico, 2 * costPico(4, 5), 'charged at the price of the target that answered');
  });

  test('embeddings and a streamed completion through a route: the answering target named, its price charged', async () => {
    const { key, view } = await newKey({ budget: 1, models: [ROUTE] });
    const client = new OpenAI({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    const { data: embedded, response } = await client.embeddings
      .create({ model: ROUTE, input: 'three words here', encoding_format: 'float' })
      .withResponse();
    assert.equal(embedded.data.length, 1);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'priced');
    const embeddingTokens = embedded.usage.prompt_tokens;
    assert.ok(embeddingTokens > 0);

    const stream = await client.completions.create({ model: ROUTE, prompt: 'say two', stream: true });
    let text = '';
    let shownUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) shownUsage = true;
    }
    assert.equal(text, 'echo: say two');
    assert.equal(shownUsage, false, 'usage asked of the upstream for the key is not shown');
    const spend = keys.get(view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, embeddingTokens + 2, 3]);
    assert.equal(spend.moneyPico, costPico(embeddingTokens + 2, 3), 'both charged at the target price');
  });

  test('Responses API (openai SDK): the models allow-list, rpm, and budget apply and spend is the usage', async () => {
    const limited = await newKey({ rpm: 2 });
    const client = new OpenAI({ baseURL: gateway.url, apiKey: limited.key, maxRetries: 0 });
    for (let index = 0; index < 2; index++) {
      const response = await client.responses.create({ model: 'priced', input: 'one two', store: false });
      assert.equal(response.output_text, 'echo: one two');
    }
    const overRpm = await client.responses.create({ model: 'priced', input: 'one two', store: false }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(overRpm instanceof OpenAI.RateLimitError, `got ${String(overRpm)}`);
    assert.equal(overRpm.code, 'rate_limit_exceeded');
    assert.match(overRpm.message, /rate limit of key sk-byz-\S+ reached \(2 rpm\)/);
    const retryAfter = Number(overRpm.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);

    // A budget of one and a half requests: the second is admitted, the third refused.
    const oneRequest = costPico(2, 3);
    const budgeted = await newKey({ budget: (oneRequest * 1.5) / 1e12, models: ['priced'] });
    const budgetClient = new OpenAI({ baseURL: gateway.url, apiKey: budgeted.key, maxRetries: 0 });
    const notAllowed = await budgetClient.responses.create({ model: 'gpt_chat', input: 'one two' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(notAllowed instanceof OpenAI.PermissionDeniedError, `got ${String(notAllowed)}`);
    assert.match(notAllowed.message, /may not use model gpt_chat; allowed: priced/);
    const streamed = await budgetClient.responses.create({ model: 'priced', input: 'one two', stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of streamed) if (event.type === 'response.completed') completed = event.response;
    assert.equal(completed?.usage?.output_tokens, 3);
    const plain = await budgetClient.responses.create({ model: 'priced', input: 'one two', store: false });
    assert.equal(plain.usage?.input_tokens, 2);
    const overBudget = await budgetClient.responses
      .create({ model: 'priced', input: 'one two', store: false })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(overBudget instanceof OpenAI.RateLimitError, `got ${String(overBudget)}`);
    assert.equal(overBudget.code, 'budget_exceeded');
    const spend = keys.get(budgeted.view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 4, 6]);
    assert.equal(spend.moneyPico, 2 * oneRequest);
  });

  test('Messages API (fetch): rpm and budget answered with Anthropic error bodies, spend is the usage', async () => {
    const send = (key: string, stream = false) =>
      fetch(`${gateway.origin}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'priced',
          max_tokens: 64,
          stream,
          messages: [{ role: 'user', content: 'three more words' }],
        }),
      });
    type AnthropicError = { type: string; error: { type: string; message: string } };

    const limited = await newKey({ rpm: 1 });
    const first = await send(limited.key);
    assert.equal(first.status, 200);
    const usage = ((await first.json()) as { usage: { input_tokens: number; output_tokens: number } }).usage;
    assert.deepEqual([usage.input_tokens, usage.output_tokens], [3, 4]);
    const overRpm = await send(limited.key);
    assert.equal(overRpm.status, 429);
    assert.ok(Number(overRpm.headers.get('retry-after')) >= 1);
    const rpmBody = (await overRpm.json()) as AnthropicError;
    assert.equal(rpmBody.error.type, 'rate_limit_error');
    assert.match(rpmBody.error.message, /\(1 rpm\)/);

    const oneRequest = costPico(3, 4);
    const budgeted = await newKey({ budget: (oneRequest * 1.5) / 1e12 });
    const streamed = await send(budgeted.key, true);
    assert.equal(streamed.status, 200);
    assert.match(await streamed.text(), /event: message_stop/);
    assert.equal((await send(budgeted.key)).status, 200);
    const overBudget = await send(budgeted.key);
    assert.equal(overBudget.status, 429);
    const budgetBody = (await overBudget.json()) as AnthropicError;
    assert.equal(budgetBody.type, 'error');
    assert.match(budgetBody.error.message, /has used its budget/);
    const spend = keys.get(budgeted.view.id).spend;
    assert.deepEqual([spend.requests, spend.inputTokens, spend.outputTokens], [2, 6, 8]);
    assert.equal(spend.moneyPico, 2 * oneRequest);
  });
});
