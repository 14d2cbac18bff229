/**
 * The head's NATS side (`byzerllm start --head --nats nats://…`): deployments in JetStream KV,
 * workers on node agents (this machine runs one too unless `headOnly`), node liveness from
 * heartbeats, and the cluster API served over NATS for clients on any machine.
 */
import os from 'node:os';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Head } from '../head/head.js';
import type { NodeResources } from '../resources.js';
import { createInProcessTransport } from '../transport/in-process-transport.js';
import type { WorkerTransport } from '../transport/transport.js';
import { KvDeploymentStore } from './kv-deployment-store.js';
import { serveClusterOverNats } from './nats-admin-server.js';
import { connectNats } from './nats-connection.js';
import {
  decode,
  encode,
  HEARTBEAT_INTERVAL_MS,
  KV_PLACEMENT,
  subjects,
  subjectToken,
} from './nats-protocol.js';
import { natsRequest } from './nats-request.js';
import { NatsTransport } from './nats-transport.js';
import { CancellationRegistry } from './nats-worker-server.js';
import { NodeDirectory } from './node-directory.js';
import { type NodeAdvert, type NodeAgent, startNodeAgent } from './node-agent.js';

export interface NatsHeadOptions {
  url: string;
  resources: NodeResources;
  /** Id of this machine's own node. Defaults to the host name. */
  nodeId?: string;
  /** Run no workers on the head's machine. */
  headOnly?: boolean;
  /** How this machine's node runs workers. Defaults to in-process. */
  localTransport?: WorkerTransport;
  log: (line: string) => void;
}

export interface NatsHead {
  head: Head;
  close(): Promise<void>;
}

/** Publishes where every deployment's workers run (`byzerllm_placement`), for any machine to read. */
async function writePlacement(bucket: KV, head: Head): Promise<void> {
  const deployments = await head.list();
  const names = new Set(deployments.map((deployment) => subjectToken(deployment.name)));
  for await (const key of await bucket.keys()) {
    if (!names.has(key)) await bucket.delete(key);
  }
  for (const deployment of deployments) {
    await bucket.put(
      subjectToken(deployment.name),
      JSON.stringify({ name: deployment.name, workers: deployment.workers }),
    );
  }
}

async function reconcileNode(
  connection: NatsConnection,
  head: Head,
  nodeId: string,
  log: (line: string) => void,
): Promise<void> {
  const keep = (await head.list()).flatMap((deployment) =>
    deployment.workers.filter((worker) => worker.node === nodeId).map((worker) => worker.id),
  );
  try {
    await natsRequest(connection, subjects.nodeReconcile(nodeId), { keep }, 10_000);
  } catch (error) {
    log(`could not reconcile the workers of node ${nodeId}: ${(error as Error).message}`);
  }
}

export async function startNatsHead(options: NatsHeadOptions): Promise<NatsHead> {
  const connection = await connectNats(options.url, 'byzerllm-head');
  const store = await KvDeploymentStore.open(connection);
  const transport = new NatsTransport(connection, `${os.hostname()}-${process.pid}-${Date.now()}`);
  const placementBucket = await new Kvm(connection).create(KV_PLACEMENT, { history: 1 });
  let publishing: Promise<void> = Promise.resolve();
  const publishPlacement = () => {
    publishing = publishing
      .then(() => writePlacement(placementBucket, head))
      .catch((error: unknown) =>
        options.log(`could not publish worker placement: ${(error as Error).message}`),
      );
  };
  const head = new Head({
    store,
    transport,
    resources: options.resources,
    localNode: false,
    log: options.log,
    onChange: publishPlacement,
  });
  // Node agents drop workers left over from a previous head: this head places everything anew.
  connection.publish(subjects.headHello, encode({ headId: transport.headId }));
  const directory = new NodeDirectory({
    connection,
    onJoined: async (advert) => {
      // A node may come back from a partition still running workers the head has placed elsewhere:
      // they are stopped before the node takes new ones.
      await reconcileNode(connection, head, advert.nodeId, options.log);
      await head.nodeJoined(advert.nodeId, advert.resources);
    },
    onLost: (nodeId, reason) => void head.nodeLost(nodeId, reason),
  });
  // Nodes register on start so that `byzerllm start --address …` returns once the head knows them.
  const registrations = connection.subscribe(subjects.admin('register'), {
    queue: 'head',
    callback: (_error, message) => {
      const advert = decode<NodeAdvert>(message.data);
      void directory
        .observe(advert)
        .then(() => directory.whenJoined(advert.nodeId))
        .finally(() => message.respond(encode({ ok: true, result: null })));
    },
  });
  let agent: NodeAgent | undefined;
  let agentConnection: NatsConnection | undefined;
  if (!options.headOnly) {
    const nodeId = options.nodeId ?? os.hostname();
    agentConnection = await connectNats(options.url, `byzerllm-node-${nodeId}`);
    agent = await startNodeAgent({
      connection: agentConnection,
      nodeId,
      resources: options.resources,
      transport: options.localTransport ?? createInProcessTransport({ nodeId }),
      log: options.log,
    });
  }
  // Give running nodes a few heartbeats to announce themselves before deployments are placed again.
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS * 3));
  await head.restore();
  const cancellations = new CancellationRegistry(connection);
  const admin = await serveClusterOverNats(connection, head, cancellations);
  options.log(`cluster head on ${options.url}${options.headOnly ? ' (no workers on this machine)' : ''}`);
  return {
    head,
    async close() {
      await admin.close();
      registrations.unsubscribe();
      cancellations.close();
      directory.close();
      await head.close();
      await agent?.close();
      await agentConnection?.drain().catch(() => {});
      await connection.drain().catch(() => {});
    },
  };
}
