/**
 * Node admission on a real nats-server (127.0.0.1, random port): registrations always reach the
 * registration endpoint, the head admits only nodes holding the cluster key, one node id belongs to
 * one live process, and deployment secrets rest sealed in JetStream KV under collision-free keys.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ClusterKey,
  connectNats,
  createInProcessTransport,
  KV_DEPLOYMENTS,
  type NatsHead,
  type NodeAgent,
  startNatsHead,
  startNodeAgent,
  subjects,
} from '../../src/cluster/index.js';
import { KvDeploymentStore } from '../../src/cluster/nats/kv-deployment-store.js';
import { natsRequest } from '../../src/cluster/nats/nats-request.js';
import { signedEnvelope } from '../../src/cluster/nats/signed-envelope.js';
import { AlreadyExistsError, type DeploymentSpec, deploymentSpecSchema } from '../../src/core/index.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';

const RESOURCES = { cpus: 2, memoryBytes: 2 ** 30, gpus: [] };

/** Collects log lines; `until` resolves when a line matches (an observable event, not a sleep). */
function logCollector() {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  return {
    lines,
    log(line: string) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (!waiter.pattern.test(line)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    },
    until(pattern: RegExp): Promise<string> {
      const found = lines.find((line) => pattern.test(line));
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

describe('NATS node admission', () => {
  let nats: NatsServer;
  let head: NatsHead;
  let connection: NatsConnection;
  const key = ClusterKey.fromMaterial(randomBytes(32));
  const headLog = logCollector();
  const agents: NodeAgent[] = [];

  const join = (nodeId: string, clusterKey: ClusterKey | null = key) =>
    startNodeAgent({
      connection,
      nodeId,
      resources: RESOURCES,
      transport: createInProcessTransport({ nodeId }),
      ...(clusterKey ? { clusterKey } : {}),
    });

  let stateDirectory: string;

  before(async () => {
    nats = await startNatsServer();
    stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-head-'));
    head = await startNatsHead({
      url: nats.url,
      stateDirectory,
      resources: RESOURCES,
      headOnly: true,
      clusterKey: key,
      log: headLog.log,
    });
    connection = await connectNats(nats.url, 'test-nodes');
  });

  after(async () => {
    for (const agent of agents) await agent.close();
    await head?.close();
    await connection?.drain().catch(() => {});
    await nats?.close();
    await fs.rm(stateDirectory, { recursive: true, force: true });
  });

  test('40 nodes register and every registration is answered by the registration endpoint', async () => {
    const ids = Array.from({ length: 40 }, (_, index) => `n${index}`);
    // startNodeAgent throws when its registration is refused: before one endpoint per operation,
    // about a third were answered `unknown admin operation "register"` (and swallowed).
    agents.push(...(await Promise.all(ids.map((id) => join(id)))));
    const status = await head.head.status();
    assert.deepEqual(status.nodes.map((node) => node.id).sort(), [...ids].sort());
  });

  test('a node without the cluster key is refused at registration, with the reason', async () => {
    await assert.rejects(join('keyless', null), /unsigned: the sender does not hold the cluster key/);
    await assert.rejects(
      join('wrong-key', ClusterKey.fromMaterial(randomBytes(32))),
      /bad signature: the sender holds another cluster key/,
    );
    const status = await head.head.status();
    assert.ok(!status.nodes.some((node) => node.id === 'keyless' || node.id === 'wrong-key'));
  });

  test('a pretend node with 512 CPUs gets no deployment: its heartbeat is dropped', async () => {
    const forged = {
      nodeId: 'fake',
      instanceId: 'x',
      hostname: 'evil',
      resources: { cpus: 512, memoryBytes: 2 ** 40, gpus: [] },
      labels: {},
      pid: 1,
      startedAt: new Date().toISOString(),
      workers: 0,
    };
    const subject = subjects.heartbeat('fake');
    connection.publish(
      subject,
      new TextEncoder().encode(JSON.stringify(signedEnvelope(undefined, subject, forged))),
    );
    connection.publish(subject, new TextEncoder().encode(JSON.stringify(forged)));
    await headLog.until(/dropped an invalid message on byzerllm\.heartbeat\.fake: unsigned/);
    await headLog.until(/dropped an invalid message on byzerllm\.heartbeat\.fake: not a byzerllm envelope/);
    assert.ok(!(await head.head.status()).nodes.some((node) => node.id === 'fake'));
    await assert.rejects(
      head.head.deploy({
        name: 'greedy',
        pretrainedModelType: 'saas/openai',
        cpusPerWorker: 100,
        inferParams: { 'saas.api_key': 'sk-x', 'saas.base_url': 'http://127.0.0.1:9' },
      }),
      (error: Error & { code?: string }) => error.code === 'insufficient_resources',
    );
  });

  test('a second live process with a node id is refused with an error naming the node', async () => {
    const other = await connectNats(nats.url, 'test-duplicate');
    try {
      // Another process (its own connection) claims n0, which is alive.
      await assert.rejects(
        startNodeAgent({
          connection: other,
          nodeId: 'n0',
          resources: RESOURCES,
          transport: createInProcessTransport({ nodeId: 'n0' }),
          clusterKey: key,
        }),
        (error: Error) =>
          error instanceof AlreadyExistsError &&
          new RegExp(`node id n0 is already used by a live node on host ${os.hostname()}`).test(
            error.message,
          ),
      );
      // The head refuses it too (two processes starting at the same moment both pass the probe).
      const subject = subjects.admin('register');
      const advert = {
        nodeId: 'n1',
        instanceId: 'another-process',
        hostname: 'twin',
        resources: RESOURCES,
        labels: {},
        pid: 4242,
        startedAt: new Date().toISOString(),
        workers: 0,
      };
      await assert.rejects(
        natsRequest(other, subject, signedEnvelope(key, subject, advert), 5_000),
        /node id n1 is already used by a live node \(host .*, pid \d+\); give this node another --node_id/,
      );
    } finally {
      await other.drain();
    }
  });

  test('deployment secrets rest sealed in KV; a restarted head with the key gets them back', async () => {
    for (const name of ['chat-a', 'chat_a']) {
      await head.head.deploy({
        name,
        pretrainedModelType: 'saas/openai',
        inferParams: { 'saas.api_key': `sk-secret-of-${name}`, 'saas.base_url': 'http://127.0.0.1:9' },
      });
    }
    const bucket = await new Kvm(connection).open(KV_DEPLOYMENTS);
    const keys: string[] = [];
    for await (const key of await bucket.keys()) keys.push(key);
    assert.deepEqual(keys.sort(), ['chat-a', 'chat_a']);
    for (const kvKeyName of keys) {
      const raw = (await bucket.get(kvKeyName))!.string();
      assert.ok(!raw.includes('sk-secret-of'), raw);
    }
    // A restarted head (same key) gets both back, secrets included; without the key, none.
    const loaded = await (await KvDeploymentStore.open(connection, key)).load();
    assert.deepEqual(loaded.specs.map((spec) => [spec.name, spec.inferParams['saas.api_key']]).sort(), [
      ['chat-a', 'sk-secret-of-chat-a'],
      ['chat_a', 'sk-secret-of-chat_a'],
    ]);
    const keyless = await (await KvDeploymentStore.open(connection)).load();
    assert.equal(keyless.specs.length, 0);
    assert.match(
      keyless.problems.join('\n'),
      /sealed with a cluster key; start this process with --cluster_key_file/,
    );
  });

  test('names that subject tokens merged (a.b, a_b) get their own KV keys', async () => {
    // Deployment names no longer allow ".", but the store must not depend on it: a name written by
    // an older version keeps its own key instead of overwriting another deployment.
    const spec = (name: string) =>
      ({
        ...deploymentSpecSchema.parse({ name: 'placeholder', pretrainedModelType: 'saas/openai' }),
        name,
      }) as DeploymentSpec;
    const store = await KvDeploymentStore.open(connection, key);
    await store.save([spec('a.b'), spec('a_b')]);
    const bucket = await new Kvm(connection).open(KV_DEPLOYMENTS);
    const keys: string[] = [];
    for await (const entry of await bucket.keys()) keys.push(entry);
    assert.deepEqual(keys.sort(), ['a=2Eb', 'a_b']);
  });
});
