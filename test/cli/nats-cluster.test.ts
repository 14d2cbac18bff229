/**
 * A cluster on one machine, as three machines would run it: a real nats-server (JetStream, 127.0.0.1,
 * random port), a head and three node processes started by the real CLI, a local OpenAI upstream.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type KV, Kvm } from '@nats-io/kv';
import { Svcm } from '@nats-io/services';
import {
  type ClusterStatus,
  connectNats,
  HEAD_SERVICE_NAME,
  KV_PLACEMENT,
  NatsClusterClient,
} from '../../src/cluster/index.js';
import type { TestHome } from '../support/cli.js';
import { type CliCluster, startCliCluster } from '../support/cli-cluster.js';
import type { NatsServer } from '../support/nats-server.js';
import type { OpenAIUpstream } from '../support/openai-upstream.js';

const NODES = ['node-a', 'node-b', 'node-c'];

interface PublishedPlacement {
  workers: { node: string }[];
}

/** Watches a KV key until its value satisfies `condition` (the current value comes first). */
async function kvValueUntil(
  bucket: KV,
  key: string,
  condition: (value: PublishedPlacement) => boolean,
): Promise<PublishedPlacement> {
  const watch = await bucket.watch({ key });
  try {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT') continue;
      const value = entry.json<PublishedPlacement>();
      if (condition(value)) return value;
    }
  } finally {
    watch.stop();
  }
  throw new Error(`the watch of ${key} ended`);
}

function workersPerNode(status: ClusterStatus): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const deployment of status.deployments) {
    for (const worker of deployment.workers) counts[worker.node] = (counts[worker.node] ?? 0) + 1;
  }
  return counts;
}

describe('a NATS cluster: head and three nodes', () => {
  let nats: NatsServer;
  let upstream: OpenAIUpstream;
  let head: TestHome;
  const nodes = new Map<string, TestHome>();
  let client: NatsClusterClient;
  let cluster: CliCluster | undefined;

  before(async () => {
    cluster = await startCliCluster({ nodeIds: NODES });
    ({ nats, upstream, head } = cluster);
    for (const [nodeId, home] of cluster.nodes) nodes.set(nodeId, home);
    client = await NatsClusterClient.connect(nats.url);
  });

  after(async () => {
    await client?.close();
    await cluster?.close();
  });

  test('a deployment of 6 workers is spread over the three nodes, shown by status and stat', async () => {
    // `start --address` returns once the head registered the node.
    const status = await client.status();
    assert.deepEqual(status.nodes.map((node) => node.id).sort(), NODES);
    const deploy = await head.run([
      'deploy',
      '--address',
      nats.url,
      '--model',
      'spread',
      '--pretrained_model_type',
      'saas/openai',
      '--num_workers',
      '6',
      '--worker_concurrency',
      '8',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const shown = await head.run(['status', '--address', nats.url, '--json']);
    assert.deepEqual(workersPerNode(JSON.parse(shown.stdout)), { 'node-a': 2, 'node-b': 2, 'node-c': 2 });
    const table = await head.run(['status', '--address', nats.url]);
    assert.match(table.stdout, /node-b\s+2\s+0\.02/);
    const stat = await head.run(['stat', '--model', 'spread', '--address', nats.url]);
    assert.equal(JSON.parse(stat.stdout).total_workers, 6);
    const query = await head.run([
      'query',
      '--model',
      'spread',
      '--query',
      'over nats',
      '--address',
      nats.url,
    ]);
    assert.equal(query.stdout, 'echo: over nats\n');
    const streamed = await head.run([
      'query',
      '--model',
      'spread',
      '--query',
      'streamed',
      '--stream',
      '--address',
      nats.url,
    ]);
    assert.equal(streamed.stdout, 'echo: streamed\n');
  });

  test('worker placement is published in JetStream KV and follows node loss', async () => {
    const connection = await connectNats(nats.url, 'placement-reader');
    try {
      const bucket = await new Kvm(connection).create(KV_PLACEMENT, { history: 1 });
      const placement = await kvValueUntil(bucket, 'spread', (value) => value.workers.length === 6);
      const perNode: Record<string, number> = {};
      for (const worker of placement.workers) perNode[worker.node] = (perNode[worker.node] ?? 0) + 1;
      assert.deepEqual(perNode, { 'node-a': 2, 'node-b': 2, 'node-c': 2 });
    } finally {
      await connection.drain();
    }
  });

  test('the head is a NATS service: ping, info and stats find it', async () => {
    const connection = await connectNats(nats.url, 'services-test');
    try {
      const services = new Svcm(connection as never).client();
      const pings = [];
      for await (const ping of await services.ping(HEAD_SERVICE_NAME)) pings.push(ping);
      assert.equal(pings.length, 1);
      const stats = [];
      for await (const stat of await services.stats(HEAD_SERVICE_NAME)) stats.push(stat);
      // One endpoint per operation: the queries of the first test were counted on `call`.
      const call = stats[0]!.endpoints!.find((endpoint) => endpoint.name === 'call')!;
      assert.ok(call.num_requests > 0, `call requests counted: ${call.num_requests}`);
      const names = stats[0]!.endpoints!.map((endpoint) => endpoint.name).sort();
      assert.ok(names.includes('register') && names.includes('deploy'), names.join(','));
    } finally {
      await connection.drain();
    }
  });

  test('SIGKILL of a node during 1,000 requests loses none; its workers come back elsewhere', async () => {
    const before = (await client.stat('spread')).total_requests.reduce((sum, count) => sum + count, 0);
    const victim = JSON.parse(await fs.readFile(path.join(nodes.get('node-b')!.home, 'node.json'), 'utf8'));
    let completed = 0;
    let next = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (next < 1000) {
        const index = next++;
        if (index === 300) process.kill(victim.pid, 'SIGKILL');
        try {
          const answer = await client.call('spread', 'chat', {
            messages: [{ role: 'user', content: `delay:5 r${index}` }],
          });
          if (answer.text !== `echo: delay:5 r${index}`) failures.push(`r${index}: ${answer.text}`);
          completed++;
        } catch (error) {
          failures.push(`r${index}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    assert.deepEqual(failures, []);
    assert.equal(completed, 1000);
    // The requests may all be answered before the head has re-placed the last of node-b's workers:
    // wait for the placement it publishes to show none there.
    const connection = await connectNats(nats.url, 'placement-reader');
    try {
      const bucket = await new Kvm(connection).create(KV_PLACEMENT, { history: 1 });
      await kvValueUntil(bucket, 'spread', (value) =>
        value.workers.every((worker) => worker.node !== 'node-b'),
      );
    } finally {
      await connection.drain();
    }
    const status = await client.status();
    assert.deepEqual(status.nodes.map((node) => node.id).sort(), ['node-a', 'node-c']);
    const perNode = workersPerNode(status);
    assert.equal((perNode['node-a'] ?? 0) + (perNode['node-c'] ?? 0), 6);
    assert.equal(perNode['node-b'], undefined);
    const stat = await client.stat('spread');
    assert.equal(stat.total_workers, 6);
    assert.ok(stat.worker_state.every((state) => state.ready));
    const after = stat.total_requests.reduce((sum, count) => sum + count, 0);
    assert.ok(after - before >= 1000, `requests counted: ${after - before}`);
  });

  test('a NATS restart mid-way: clients reconnect, requests succeed again, deployments survive', async () => {
    const reconnected = client.nextReconnect();
    await nats.restart();
    await reconnected;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        client.call('spread', 'chat', { messages: [{ role: 'user', content: `after restart ${index}` }] }),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.text),
      Array.from({ length: 20 }, (_, index) => `echo: after restart ${index}`),
    );
    assert.deepEqual(
      (await client.list()).map((deployment) => deployment.name),
      ['spread'],
    );
  });
});
