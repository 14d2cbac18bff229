/**
 * Limits and virtual keys hold across gateways: a real NATS cluster (nats-server, a head started
 * with `--nats`, one node), two `byzerllm serve --address nats://…` processes (each a gateway in its
 * own process, over its own NATS connection) and a loopback OpenAI upstream. The head is the one
 * counter: an rpm limit set with `byzerllm limits` admits at most that many requests over both
 * gateways together (the rest get 429 with Retry-After), and a key created with `byzerllm keys` is
 * checked, limited to its models and charged by whichever gateway it is used on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliCluster, startCliCluster, startServeOverNats } from '../support/cli-cluster.js';

const RPM = 10;
const REQUESTS = 30;

async function chat(
  baseURL: string,
  model: string,
  key?: string,
): Promise<{
  status: number;
  retryAfter: string | null;
  body: { error?: { code: string; message: string } };
}> {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'two gateways' }] }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error?: { code: string; message: string } },
  };
}

describe('limits and keys across two gateways on NATS (real CLI, head, node and nats-server)', () => {
  let cluster: CliCluster | undefined;
  let gateways: string[] = [];

  before(async () => {
    cluster = await startCliCluster({ nodeIds: ['node-a'] });
    const { head, nats, upstream } = cluster;
    for (const name of ['limited', 'priced']) {
      const deployed = await head.run([
        'deploy',
        '--address',
        nats.url,
        '--model',
        name,
        '--pretrained_model_type',
        'saas/openai',
        '--worker_concurrency',
        '8',
        '--infer_params',
        `saas.api_key=${upstream.apiKey}`,
        `saas.base_url=${upstream.url}`,
        'saas.max_retries=0',
        'gateway.price_input=2',
        'gateway.price_output=4.5',
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
    }
    const limited = await head.run(['limits', 'set', 'limited', '--rpm', String(RPM)]);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(limited.stdout, 'limits of limited set\n');
    gateways = [await startServeOverNats(cluster), await startServeOverNats(cluster)];
  });
  after(async () => {
    await cluster?.close();
  });

  test('two gateways share one rpm limit: total accepted ≤ the limit, the rest 429 with Retry-After', async () => {
    // One request through each gateway first, answered before the burst: which gateway's burst
    // requests reach the head first is the OS scheduler's choice (a gateway process descheduled
    // for the whole burst loses every slot to the other), so only these two make sure both
    // gateways were admitted some.
    const answers = [await chat(gateways[0]!, 'limited'), await chat(gateways[1]!, 'limited')];
    answers.push(
      ...(await Promise.all(
        Array.from({ length: REQUESTS - 2 }, (_, index) => chat(gateways[index % 2]!, 'limited')),
      )),
    );
    assert.deepEqual(
      answers.slice(0, 2).map((answer) => answer.status),
      [200, 200],
    );
    const accepted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    assert.equal(accepted.length, RPM, `statuses ${answers.map((answer) => answer.status).join(',')}`);
    assert.equal(refused.length, REQUESTS - RPM);
    for (const answer of refused) {
      assert.equal(answer.body.error?.code, 'rate_limit_exceeded');
      const seconds = Number(answer.retryAfter);
      assert.ok(seconds >= 1 && seconds <= 60, `Retry-After ${answer.retryAfter}`);
    }
    // Both gateways admitted some and the total is the limit: neither counted alone (each would
    // have admitted up to the limit of its own 15).
    const perGateway = [0, 1].map(
      (gateway) => answers.filter((answer, index) => index % 2 === gateway && answer.status === 200).length,
    );
    assert.ok(
      perGateway.every((count) => count < RPM),
      `accepted per gateway ${perGateway}`,
    );

    const listed = await cluster!.head.run(['limits', 'list']);
    assert.deepEqual(JSON.parse(listed.stdout), { limited: { rpm: RPM } });
  });

  test('a key created on the head works on both gateways, limited to its models, and is charged once', async () => {
    const created = await cluster!.head.run([
      'keys',
      'create',
      '--models',
      'priced',
      '--budget',
      '5',
      '--expires',
      '30d',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^sk-byz-[0-9a-f]{12}-/);
    assert.match(created.stderr, /only time it is shown/);

    // The gate decides on the head: once a key exists, a request without one is refused.
    for (const gateway of gateways) {
      assert.equal((await chat(gateway, 'priced', key)).status, 200);
      const refused = await chat(gateway, 'limited', key);
      assert.equal(refused.status, 403);
      assert.match(refused.body.error!.message, /may not use model limited; allowed: priced/);
      assert.equal((await chat(gateway, 'priced')).status, 401, 'no key, now that keys exist');
    }
    type Listed = {
      prefix: string;
      budget: number;
      spend: { requests: number; inputTokens: number; outputTokens: number; moneyPico: number };
    };
    // A gateway settles without waiting (a NATS publish after the answer): read until both landed.
    let view: Listed | undefined;
    for (let reads = 0; reads < 50 && view?.spend.requests !== 2; reads++) {
      [view] = JSON.parse((await cluster!.head.run(['keys', 'list', '--json'])).stdout) as Listed[];
    }
    assert.equal(view!.budget, 5);
    assert.equal(view!.spend.requests, 2);
    // The upstream counts words: 2 in ("two gateways"), 3 out ("echo: two gateways").
    assert.deepEqual([view!.spend.inputTokens, view!.spend.outputTokens], [4, 6]);
    assert.equal(view!.spend.moneyPico, 4 * 2_000_000 + 6 * 4_500_000);
    const table = await cluster!.head.run(['keys', 'list']);
    assert.match(table.stdout, new RegExp(`^${view!.prefix}\\s+priced\\s+5\\s+`, 'm'));

    const revoked = await cluster!.head.run(['keys', 'revoke', view!.prefix]);
    assert.equal(revoked.stdout, `key ${view!.prefix} revoked\n`);
    assert.equal((await chat(gateways[1]!, 'priced', key)).status, 401);
  });
});
