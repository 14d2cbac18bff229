/**
 * A network partition, where the machine allows network namespaces (root + iproute2): one node runs
 * in its own namespace behind a veth pair; cutting the link makes the head declare it lost and place
 * its workers elsewhere while requests keep succeeding; healing the link brings the node back, and
 * the workers it still ran (now placed elsewhere) are stopped.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { type ClusterStatus, connectNats, NatsClusterClient, subjects } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import {
  createNetworkNamespace,
  type NetworkNamespace,
  networkNamespacesAvailable,
} from '../support/network-namespace.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const unavailable = await networkNamespacesAvailable();
if (unavailable) process.stdout.write(`# partition test skipped: ${unavailable}\n`);

function workersOn(status: ClusterStatus, node: string): string[] {
  return status.deployments.flatMap((deployment) =>
    deployment.workers.filter((worker) => worker.node === node).map((worker) => worker.id),
  );
}

/** Resolves when `condition(status)` holds; cluster membership changes arrive on heartbeat time. */
async function statusUntil(client: NatsClusterClient, condition: (status: ClusterStatus) => boolean) {
  for (let attempt = 0; attempt < 150; attempt++) {
    const status = await client.status();
    if (condition(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 100)); // polling a remote state with a deadline
  }
  throw new Error('the cluster did not reach the expected state within 15 s');
}

describe('a partitioned node', { skip: unavailable }, () => {
  let namespace: NetworkNamespace;
  let nats: NatsServer;
  let upstream: OpenAIUpstream;
  let head: TestHome;
  let hostNode: TestHome;
  let isolatedHome: string;
  let isolated: ChildProcess;
  let client: NatsClusterClient;

  before(async () => {
    namespace = await createNetworkNamespace();
    nats = await startNatsServer(namespace.hostAddress);
    // The upstream must be reachable from the namespace too.
    upstream = await startOpenAIUpstream({ host: namespace.hostAddress, recordRequests: false });
    head = await createTestHome();
    assert.equal((await head.run(['start', '--head', '--nats', nats.url, '--head_only'])).code, 0);
    hostNode = await createTestHome();
    assert.equal((await hostNode.run(['start', '--address', nats.url, '--node_id', 'node-host'])).code, 0);
    isolatedHome = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-isolated-'));
    isolated = spawn(
      namespace.exec[0]!,
      [
        ...namespace.exec.slice(1),
        process.execPath,
        CLI_ENTRY,
        'start',
        '--address',
        nats.url,
        '--node_id',
        'node-isolated',
        '--foreground',
      ],
      { env: { ...process.env, BYZERLLM_HOME: isolatedHome }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const [line] = (await once(createInterface({ input: isolated.stdout! }), 'line')) as [string];
    assert.match(line, /node node-isolated joined/);
    client = await NatsClusterClient.connect(nats.url);
  });

  after(async () => {
    await client?.close();
    if (isolated && isolated.exitCode === null) {
      isolated.kill('SIGKILL');
      await once(isolated, 'exit');
    }
    await hostNode?.cleanup();
    await head?.cleanup();
    await upstream?.close();
    await nats?.close();
    await namespace?.remove();
    if (isolatedHome) await fs.rm(isolatedHome, { recursive: true, force: true });
  });

  test('cut: its workers move, requests keep succeeding; healed: stale workers are stopped', async () => {
    const deploy = await head.run([
      'deploy',
      '--address',
      nats.url,
      '--model',
      'split',
      '--pretrained_model_type',
      'saas/openai',
      '--num_workers',
      '4',
      '--worker_concurrency',
      '4',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const before = await client.status();
    const stale = workersOn(before, 'node-isolated');
    assert.equal(stale.length, 2);

    await namespace.cut();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        client.call('split', 'chat', { messages: [{ role: 'user', content: `delay:30 p${index}` }] }),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.text),
      Array.from({ length: 100 }, (_, index) => `echo: delay:30 p${index}`),
    );
    const moved = await statusUntil(client, (status) => workersOn(status, 'node-host').length === 4);
    assert.ok(!moved.nodes.some((node) => node.id === 'node-isolated'));

    await namespace.heal();
    await statusUntil(client, (status) => status.nodes.some((node) => node.id === 'node-isolated'));
    const probe = await connectNats(nats.url, 'partition-probe');
    try {
      for (const workerId of stale) {
        await assert.rejects(
          probe.request(subjects.workerCall(workerId), new Uint8Array(), { timeout: 2_000 }),
          /no responders|503/i,
          `stale worker ${workerId} was stopped`,
        );
      }
    } finally {
      await probe.drain();
    }
    assert.equal((await client.stat('split')).total_workers, 4);
  });
});
