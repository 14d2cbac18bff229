/**
 * Keys with a budget in seconds on local workers: a real head with llama_cpp worker processes on
 * the generated tiny GGUF (2 workers × 2 slots), the gateway in-process with the head's
 * `AccessControl`. Workers report each request's CPU-seconds (`x-byzerllm-busy-seconds` on the
 * answer); the head charges them on the slot, so a key under 32 concurrent requests is cut off
 * within one request per worker slot, and its spend is the sum of what the workers reported.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AccessControl,
  createProcessTransport,
  createRoutedCluster,
  DeploymentStore,
  Governance,
  Head,
  pricesOfSpecs,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { type RunningOpenAIServer, startOpenAIServer } from '../../src/server/index.js';

const MASTER = 'master-key-0123456789';
const WORKERS = 2;
const SLOTS_PER_WORKER = 2;
const SLOTS = WORKERS * SLOTS_PER_WORKER;

interface Answer {
  status: number;
  busySeconds: number | undefined;
  body: { error?: { code: string; type: string; message: string } };
}

describe('seconds budgets on llama_cpp workers (embedded head)', () => {
  let directory: string;
  let head: Head;
  let keys: VirtualKeyStore;
  let control: AccessControl;
  let server: RunningOpenAIServer;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-seconds-'));
    const { path: modelPath } = await ensureTinyLlamaModel(directory);
    head = new Head({
      store: new DeploymentStore(path.join(directory, 'state')),
      transport: createProcessTransport(),
      resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
    });
    await head.deploy({
      name: 'tiny',
      pretrainedModelType: 'custom/auto',
      inferBackend: 'llama_cpp',
      modelPath,
      numWorkers: WORKERS,
      workerConcurrency: SLOTS_PER_WORKER,
      inferParams: { max_tokens: '8' },
    });
    keys = new VirtualKeyStore(directory);
    control = new AccessControl({ keys, priceOf: pricesOfSpecs((name) => head.specOf(name)) });
    head.ticketCharges = control;
    const governance = new Governance();
    await governance.set('tiny/route', { strategy: 'single', targets: [{ deployment: 'tiny' }] });
    // As `byzerllm serve` does: the gateway's cluster resolves route names for every endpoint.
    server = await startOpenAIServer({
      cluster: createRoutedCluster(head, governance),
      port: 0,
      apiKey: MASTER,
      gate: control,
      governance,
    });
  });
  after(async () => {
    await server?.close();
    await head?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  async function chat(key: string, stream = false, model = 'tiny'): Promise<Answer> {
    const response = await fetch(`${server.address}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model,
        stream,
        seed: 1,
        max_tokens: 8,
        messages: [{ role: 'user', content: 'count the trains at the station' }],
      }),
    });
    const header = response.headers.get('x-byzerllm-busy-seconds');
    const text = await response.text();
    return {
      status: response.status,
      busySeconds: header === null ? undefined : Number(header),
      body: stream && response.status === 200 ? {} : (JSON.parse(text) as Answer['body']),
    };
  }

  test('a key with --budget_seconds under 32 concurrent requests: cut off within one request per slot, spend = the workers’ reports', async (context) => {
    // The master key is not charged: it measures what one request costs.
    const probes = await Promise.all(Array.from({ length: SLOTS }, () => chat(MASTER)));
    for (const probe of probes) assert.equal(probe.status, 200);
    const perRequest = Math.max(...probes.map((probe) => probe.busySeconds!));
    assert.ok(perRequest > 0, `a request reports CPU-seconds (${perRequest})`);
    const budgetSeconds = Math.round(perRequest * 6 * 1e6) / 1e6;
    const { key, view } = await keys.create({ budgetSeconds, models: ['tiny'] });
    control.refresh();

    const reported: number[] = [];
    let refused = 0;
    let next = 0;
    const client = async () => {
      while (next < 96) {
        next++;
        const answer = await chat(key);
        if (answer.status === 200) {
          assert.equal(typeof answer.busySeconds, 'number', 'every local answer reports its busy time');
          reported.push(answer.busySeconds!);
        } else {
          assert.equal(answer.status, 429, JSON.stringify(answer.body));
          assert.equal(answer.body.error?.code, 'budget_exceeded');
          assert.equal(answer.body.error?.type, 'insufficient_quota');
          assert.match(answer.body.error!.message, /has used its budget of [\d.]+ seconds/);
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    assert.ok(refused > 0, 'the key was cut off under load');

    const spend = keys.get(view.id).spend;
    const sum = reported.reduce((total, seconds) => total + seconds, 0);
    assert.ok(
      Math.abs(spend.seconds - sum) < 1e-6 * (reported.length + 1),
      `spent ${spend.seconds}, reported ${sum}`,
    );
    assert.equal(spend.seconds, spend.cpuSeconds, 'CPU workers: every second is a CPU-second');
    assert.equal(spend.gpuSeconds, 0);
    assert.ok(
      spend.seconds >= budgetSeconds,
      `cut off only once spent: ${spend.seconds} of ${budgetSeconds}`,
    );
    const largest = Math.max(...reported);
    context.diagnostic(
      `budget ${budgetSeconds} s, spent ${spend.seconds} s over ${reported.length} answers (largest ${largest} s), ${refused} refused`,
    );
    assert.ok(
      spend.seconds <= budgetSeconds + SLOTS * largest + 1e-6,
      `spent ${spend.seconds}: over ${budgetSeconds} by more than ${SLOTS} requests of ≤ ${largest} s`,
    );
    const listed = keys.list().find((shown) => shown.id === view.id)!;
    assert.equal(listed.budgetSeconds, budgetSeconds);
    assert.equal(listed.spend.seconds, spend.seconds);
  });

  test('a streamed request is charged the busy seconds its worker reported, not its time at the gateway', async () => {
    const { key, view } = await keys.create({ budgetSeconds: 1000 });
    control.refresh();
    for (let index = 0; index < 3; index++) assert.equal((await chat(key, true)).status, 200);
    const spend = keys.get(view.id).spend;
    assert.equal(spend.requests, 3);
    assert.ok(spend.cpuSeconds > 0, `charged ${spend.cpuSeconds} CPU-seconds`);
    assert.equal(spend.seconds, spend.cpuSeconds, 'no gateway time added on top');
  });

  test('a request through a route is charged on the slot of the deployment that answered', async () => {
    const { key, view } = await keys.create({ budgetSeconds: 1000 });
    control.refresh();
    const answer = await chat(key, false, 'tiny/route');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(answer.busySeconds! > 0);
    assert.equal((await chat(key, true, 'tiny/route')).status, 200);
    const spend = keys.get(view.id).spend;
    assert.ok(spend.cpuSeconds > answer.busySeconds!, 'both requests charged');
    assert.equal(spend.seconds, spend.cpuSeconds, 'no gateway time added on top');
  });

  test('a completion through a route (a non-chat endpoint) is charged on the answering slot too', async () => {
    const { key, view } = await keys.create({ budgetSeconds: 1000 });
    control.refresh();
    const response = await fetch(`${server.address}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'tiny/route', prompt: 'count the trains', max_tokens: 8, seed: 1 }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'tiny');
    await response.text();
    const spend = keys.get(view.id).spend;
    assert.equal(spend.requests, 1);
    assert.ok(spend.cpuSeconds > 0, `the worker's seconds were charged (${spend.cpuSeconds})`);
    assert.equal(spend.seconds, spend.cpuSeconds, 'no gateway time added on top');
  });
});
