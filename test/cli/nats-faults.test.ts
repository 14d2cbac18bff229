/**
 * Faults in a NATS cluster, with real processes: a nats-server (127.0.0.1, random port), a head and
 * two nodes started by the real CLI, a local OpenAI upstream. A NATS restart, a node killed mid-stream,
 * the node coming back and the head killed mid-call: nothing is lost that could be kept, nothing waits
 * past the fault bound. The bound is set small here (`BYZERLLM_FAULT_TIMEOUT`) to keep the test fast.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import {
  type ClusterStatus,
  connectNats,
  KV_PLACEMENT,
  NatsClusterClient,
  NODE_TIMEOUT_MS,
} from '../../src/cluster/index.js';
import type { StreamPart } from '../../src/core/index.js';
import { startCli } from '../support/background-cli.js';
import type { TestHome } from '../support/cli.js';
import { type CliCluster, startCliCluster } from '../support/cli-cluster.js';
import type { NatsServer } from '../support/nats-server.js';
import type { OpenAIUpstream } from '../support/openai-upstream.js';

const FAULT_TIMEOUT_MS = 6_000;
const FAULT_ENV = { BYZERLLM_FAULT_TIMEOUT: String(FAULT_TIMEOUT_MS / 1000) };
const NODES = ['node-a', 'node-b'];

function workersPerNode(status: ClusterStatus, name: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const worker of status.deployments.find((deployment) => deployment.name === name)?.workers ?? []) {
    counts[worker.node] = (counts[worker.node] ?? 0) + 1;
  }
  return counts;
}

async function readPid(home: TestHome, file: 'head.json' | 'node.json'): Promise<number> {
  return JSON.parse(await fs.readFile(path.join(home.home, file), 'utf8')).pid;
}

interface StreamOutcome {
  text: string;
  last: StreamPart | undefined;
  endedAt: number;
}

async function readToEnd(iterator: AsyncIterator<StreamPart>, text = ''): Promise<StreamOutcome> {
  let last: StreamPart | undefined;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    last = next.value;
    if (last.type === 'text-delta') text += last.delta;
  }
  return { text, last, endedAt: Date.now() };
}

describe('NATS cluster faults: restart, lost node, returning node, lost head', () => {
  let nats: NatsServer;
  let upstream: OpenAIUpstream;
  let head: TestHome;
  const nodes = new Map<string, TestHome>();
  let client: NatsClusterClient;
  let cluster: CliCluster | undefined;

  before(async () => {
    cluster = await startCliCluster({ nodeIds: NODES, env: FAULT_ENV });
    ({ nats, upstream, head } = cluster);
    for (const [nodeId, home] of cluster.nodes) nodes.set(nodeId, home);
    client = await NatsClusterClient.connect(nats.url, { faultTimeoutMs: FAULT_TIMEOUT_MS });
    const deploy = await head.run([
      'deploy',
      '--address',
      nats.url,
      '--model',
      'faults',
      '--pretrained_model_type',
      'saas/openai',
      '--num_workers',
      '4',
      '--worker_concurrency',
      '16',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(workersPerNode(await client.status(), 'faults'), { 'node-a': 2, 'node-b': 2 });
  });

  after(async () => {
    await client?.close();
    await cluster?.close();
  });

  test('a NATS restart during 300 requests loses none and leaves none hanging past the bound', async () => {
    let completed = 0;
    let next = 0;
    const failures: string[] = [];
    const durations: number[] = [];
    const worker = async () => {
      while (next < 300) {
        const index = next++;
        const started = Date.now();
        try {
          const answer = await client.call('faults', 'chat', {
            messages: [{ role: 'user', content: `delay:20 r${index}` }],
          });
          if (answer.text !== `echo: delay:20 r${index}`) failures.push(`r${index}: ${answer.text}`);
          completed++;
        } catch (error) {
          failures.push(`r${index}: ${(error as Error).message}`);
        }
        durations.push(Date.now() - started);
      }
    };
    // The restart comes while requests are at the upstream: their replies cannot reach anyone.
    let inFlightAtRestart = 0;
    const restart = upstream
      .waitUntil(() => completed >= 60 && upstream.inFlight() >= 8)
      .then(async () => {
        inFlightAtRestart = upstream.inFlight();
        await nats.restart();
      });
    await Promise.all([...Array.from({ length: 24 }, worker), restart]);
    assert.ok(inFlightAtRestart >= 8, `requests at the upstream when NATS stopped: ${inFlightAtRestart}`);
    assert.deepEqual(failures, []);
    assert.equal(completed, 300);
    const slowest = Math.max(...durations);
    assert.ok(slowest < 2 * FAULT_TIMEOUT_MS, `slowest request took ${slowest} ms`);
    // The nodes were not declared lost for the head's own outage: no worker moved.
    assert.deepEqual(workersPerNode(await client.status(), 'faults'), { 'node-a': 2, 'node-b': 2 });
  });

  test('a node killed mid-stream costs only its streams (worker_failed, promptly); new streams go elsewhere', async () => {
    const prompt = (index: number) =>
      `chunk-delay:500 s${index} one two three four five six seven eight nine ten eleven twelve`;
    const opened = await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const parts = await client.stream('faults', { messages: [{ role: 'user', content: prompt(index) }] });
        const iterator = parts[Symbol.asyncIterator]();
        // Read until the first text arrived: the stream is running on its worker.
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          if (next.value.type === 'text-delta') return { iterator, text: next.value.delta };
        }
        throw new Error(`stream ${index} ended before its first text`);
      }),
    );
    const status = await client.status();
    const stat = await client.stat('faults');
    const workers = status.deployments.find((deployment) => deployment.name === 'faults')!.workers;
    const onVictim = workers
      .filter((worker) => worker.node === 'node-b')
      .reduce((sum, worker) => sum + stat.worker_state[worker.index]!.active_task, 0);
    assert.ok(onVictim > 0, 'some streams run on node-b');

    const killedAt = Date.now();
    process.kill(await readPid(nodes.get('node-b')!, 'node.json'), 'SIGKILL');
    // Started before the head noticed the loss: their first pick may be a worker of node-b.
    const fresh = Array.from({ length: 8 }, async (_, index) => {
      const parts = await client.stream('faults', {
        messages: [{ role: 'user', content: `after ${index}` }],
      });
      return readToEnd(parts[Symbol.asyncIterator]());
    });
    const outcomes = await Promise.all(opened.map(({ iterator, text }) => readToEnd(iterator, text)));
    const failed = outcomes.filter((outcome) => outcome.last?.type === 'error');
    assert.equal(failed.length, onVictim, 'exactly the streams in flight on node-b fail');
    for (const outcome of failed) {
      assert.equal(outcome.last?.type === 'error' && outcome.last.error.code, 'worker_failed');
      const after = outcome.endedAt - killedAt;
      assert.ok(
        after < NODE_TIMEOUT_MS + FAULT_TIMEOUT_MS,
        `a failed stream ended ${after} ms after the kill`,
      );
    }
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome.last?.type === 'error') continue;
      assert.equal(outcome.last?.type, 'finish');
      assert.equal(outcome.text, `echo: ${prompt(index)}`);
    }
    const freshOutcomes = await Promise.all(fresh);
    for (const [index, outcome] of freshOutcomes.entries()) {
      assert.equal(outcome.last?.type, 'finish', `new stream ${index}: ${JSON.stringify(outcome.last)}`);
      assert.equal(outcome.text, `echo: after ${index}`);
    }
  });

  test('when the node comes back, workers are rebalanced onto it without failing calls in flight', async () => {
    const connection = await connectNats(nats.url, 'placement-reader');
    try {
      const bucket = await new Kvm(connection).create(KV_PLACEMENT, { history: 1 });
      const watch = await bucket.watch({ key: 'faults' });
      // The head noticed the loss: every worker runs on node-a.
      for await (const entry of watch) {
        const workers =
          entry.operation === 'PUT' ? entry.json<{ workers: { node: string }[] }>().workers : [];
        if (workers.length === 4 && workers.every((worker) => worker.node === 'node-a')) break;
      }
      let calls = 0;
      const answers = Array.from({ length: 40 }, async (_, index) => {
        const answer = await client.call('faults', 'chat', {
          messages: [{ role: 'user', content: `delay:50 during ${index}` }],
        });
        calls++;
        return answer.text;
      });
      const rejoined = await nodes
        .get('node-b')!
        .run(['start', '--address', nats.url, '--node_id', 'node-b']);
      assert.equal(rejoined.code, 0, rejoined.stderr);
      const rebalanced = await bucket.watch({ key: 'faults' });
      for await (const entry of rebalanced) {
        if (entry.operation !== 'PUT') continue;
        const workers = entry.json<{ workers: { node: string }[] }>().workers;
        if (workers.filter((worker) => worker.node === 'node-b').length === 2) break;
      }
      watch.stop();
      rebalanced.stop();
      assert.deepEqual(
        await Promise.all(answers),
        Array.from({ length: 40 }, (_, index) => `echo: delay:50 during ${index}`),
      );
      assert.equal(calls, 40);
      const shown = await head.run(['status', '--address', nats.url, '--json']);
      assert.deepEqual(workersPerNode(JSON.parse(shown.stdout), 'faults'), { 'node-a': 2, 'node-b': 2 });
      const after = await client.call('faults', 'chat', {
        messages: [{ role: 'user', content: 'balanced' }],
      });
      assert.equal(after.text, 'echo: balanced');
    } finally {
      await connection.drain();
    }
  });

  test('a query against a cluster whose head was killed mid-call exits 6 within seconds', async () => {
    const query = startCli(head, [
      'query',
      '--address',
      nats.url,
      '--model',
      'faults',
      '--query',
      'delay:120000 never answered',
    ]);
    await upstream.waitUntil(() => upstream.inFlight() >= 1);
    const killedAt = Date.now();
    process.kill(await readPid(head, 'head.json'), 'SIGKILL');
    const inFlight = await query;
    assert.equal(inFlight.code, 6, inFlight.stderr);
    assert.match(inFlight.stderr, /head .*stopped answering/);
    assert.ok(
      inFlight.exitedAt - killedAt < 15_000,
      `exited ${inFlight.exitedAt - killedAt} ms after the kill`,
    );

    const startedAt = Date.now();
    const fresh = await startCli(head, [
      'query',
      '--address',
      nats.url,
      '--model',
      'faults',
      '--query',
      'hi',
    ]);
    assert.equal(fresh.code, 6, fresh.stderr);
    assert.match(fresh.stderr, /no byzerllm head answers/);
    assert.ok(fresh.exitedAt - startedAt < 15_000, `exited after ${fresh.exitedAt - startedAt} ms`);
  });
});
