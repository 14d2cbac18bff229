/**
 * A seconds budget across a NATS cluster (real nats-server, head, one node running a llama_cpp
 * worker process on the generated tiny GGUF, two `byzerllm serve --address nats://…` gateways in
 * their own processes). The node's worker reports each request's CPU-seconds; the head charges them
 * on the worker's slots, so a key created with `keys create --budget_seconds` and used through both
 * gateways at once is cut off within one request per slot, and `keys show` gives the spend.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { type CliCluster, startCliCluster, startServeOverNats } from '../support/cli-cluster.js';

const SLOTS = 2;

interface Answer {
  status: number;
  busySeconds: number | undefined;
  body: { error?: { code: string; message: string } };
}

async function chat(baseURL: string, key?: string): Promise<Answer> {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({
      model: 'tiny',
      seed: 1,
      max_tokens: 8,
      messages: [{ role: 'user', content: 'count the trains at the station' }],
    }),
  });
  const header = response.headers.get('x-byzerllm-busy-seconds');
  return {
    status: response.status,
    busySeconds: header === null ? undefined : Number(header),
    body: (await response.json()) as Answer['body'],
  };
}

describe('seconds budgets across two gateways on NATS (llama_cpp on a node)', () => {
  let cluster: CliCluster | undefined;
  let gateways: string[] = [];

  before(async () => {
    cluster = await startCliCluster({ nodeIds: ['node-a'] });
    const { head, nats } = cluster;
    const { path: modelPath } = await ensureTinyLlamaModel(path.join(head.home, 'models'));
    const deployed = await head.run([
      'deploy',
      '--address',
      nats.url,
      '--model',
      'tiny',
      '--pretrained_model_type',
      'custom/auto',
      '--infer_backend',
      'llama_cpp',
      '--model_path',
      modelPath,
      '--worker_concurrency',
      String(SLOTS),
      '--infer_params',
      'max_tokens=8',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    gateways = [await startServeOverNats(cluster), await startServeOverNats(cluster)];
  });
  after(async () => {
    await cluster?.close();
  });

  test('a key with --budget_seconds used through both gateways is cut off within one request per slot', async (context) => {
    // No key exists yet: the gateways are open, and a request measures what one costs.
    const probes = await Promise.all(gateways.map((gateway) => chat(gateway)));
    for (const probe of probes) assert.equal(probe.status, 200, JSON.stringify(probe.body));
    const perRequest = Math.max(...probes.map((probe) => probe.busySeconds!));
    assert.ok(perRequest > 0, `the node's worker reports CPU-seconds (${perRequest})`);
    const budgetSeconds = Math.round(perRequest * 6 * 1e6) / 1e6;
    const created = await cluster!.head.run([
      'keys',
      'create',
      '--models',
      'tiny',
      '--budget_seconds',
      String(budgetSeconds),
    ]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();

    const reported: number[] = [];
    let refused = 0;
    let next = 0;
    const client = async (index: number) => {
      while (next < 96) {
        next++;
        const answer = await chat(gateways[index % 2]!, key);
        if (answer.status === 200) reported.push(answer.busySeconds!);
        else {
          assert.equal(answer.status, 429, JSON.stringify(answer.body));
          assert.equal(answer.body.error?.code, 'budget_exceeded');
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, (_, index) => client(index)));
    assert.ok(refused > 0, 'the key was cut off under load');

    // Seconds are charged on the head when a request leaves its slot, before its answer is sent.
    const prefix = key.slice(0, 19);
    const shown = await cluster!.head.run(['keys', 'show', prefix]);
    assert.equal(shown.code, 0, shown.stderr);
    const view = JSON.parse(shown.stdout) as {
      budgetSeconds: number;
      spend: { seconds: number; cpuSeconds: number; gpuSeconds: number };
    };
    const sum = reported.reduce((total, seconds) => total + seconds, 0);
    const largest = Math.max(...reported);
    context.diagnostic(
      `budget ${budgetSeconds} s, spent ${view.spend.seconds} s over ${reported.length} answers (largest ${largest} s), ${refused} refused`,
    );
    assert.equal(view.budgetSeconds, budgetSeconds);
    assert.ok(
      Math.abs(view.spend.seconds - sum) < 1e-6 * (reported.length + 1),
      `spent ${view.spend.seconds}, reported ${sum}`,
    );
    assert.equal(view.spend.cpuSeconds, view.spend.seconds);
    assert.ok(view.spend.seconds >= budgetSeconds, `${view.spend.seconds} of ${budgetSeconds}`);
    assert.ok(
      view.spend.seconds <= budgetSeconds + SLOTS * largest + 1e-6,
      `spent ${view.spend.seconds}: over ${budgetSeconds} by more than ${SLOTS} requests of ≤ ${largest} s`,
    );
    const table = await cluster!.head.run(['keys', 'list']);
    assert.match(table.stdout, new RegExp(`^${prefix}\\s+tiny\\s+${budgetSeconds}s\\s+`, 'm'));
  });
});
