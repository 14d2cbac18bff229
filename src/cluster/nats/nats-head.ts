/**
 * The head's NATS side (`byzerllm start --head --nats nats://…`): deployments in JetStream KV,
 * workers on node agents (this machine runs one too unless `headOnly`), node liveness from
 * heartbeats, and the cluster API served over NATS for clients on any machine.
 */
import os from 'node:os';
import path from 'node:path';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AccessControl, CacheSettings, Governance, RouteCache } from '../governance/index.js';
import { Head } from '../head/head.js';
import type { StorageHost } from '../head/storage-host.js';
import type { NodeResources } from '../resources.js';
import { createInProcessTransport } from '../transport/in-process-transport.js';
import type { WorkerTransport } from '../transport/transport.js';
import { AlreadyExistsError } from '../../core/index.js';
import type { ClusterKey } from './cluster-key.js';
import { watchConnection } from './connection-watch.js';
import { HeadJobStore } from './head-job-store.js';
import { HeadJobs, type PlacedJobsView } from './head-jobs.js';
import type { TrainingJobRunner } from './job-messages.js';
import { KvDeploymentStore } from './kv-deployment-store.js';
import { serveAccessOverNats } from './nats-access-gate.js';
import { kvRouteCaches } from './kv-route-cache.js';
import { serveGovernanceOverNats } from './nats-governance.js';
import {
  createHeadService,
  HEAD_QUEUE,
  serveClusterOverNats,
  serveStorageOverNats,
} from './nats-admin-server.js';
import { connectNats } from './nats-connection.js';
import { dropInvalid, nodeAdvertSchema } from './nats-messages.js';
import { encode, HEARTBEAT_INTERVAL_MS, KV_PLACEMENT, kvKey, type Reply, subjects } from './nats-protocol.js';
import { failureReply } from '../wire/index.js';
import { natsRequest } from './nats-request.js';
import { type NatsSecurityOptions, redactNatsUrl } from './nats-security.js';
import { NatsTransport } from './nats-transport.js';
import { CancellationRegistry } from './nats-worker-server.js';
import { defaultNodeId, type NodeAgent, startNodeAgent } from './node-agent.js';
import { describe, NodeDirectory } from './node-directory.js';
import { decodeSigned, encodeSigned, signedEnvelope } from './signed-envelope.js';

export interface NatsHeadOptions {
  url: string;
  resources: NodeResources;
  /** Id of this machine's own node. Defaults to the host name. */
  nodeId?: string;
  /** Run no workers on the head's machine. */
  headOnly?: boolean;
  /** How this machine's node runs workers. Defaults to in-process. */
  localTransport?: WorkerTransport;
  /** Credentials file and TLS for NATS (user/password or a token may be in `url`). */
  security?: NatsSecurityOptions;
  /**
   * The cluster key (cluster-key.ts): nodes must sign with it to join, secrets are sealed with it.
   * Without one the cluster is open: any NATS client can pose as a node (the log says so).
   */
  clusterKey?: ClusterKey;
  /** Runs training jobs placed on this machine's node (injected by the CLI). */
  jobRunner?: TrainingJobRunner;
  /** The head's state directory (`$BYZERLLM_HOME`): its training-job records live in `cluster-jobs/`. */
  stateDirectory: string;
  log: (line: string) => void;
}

export interface NatsHead {
  head: Head;
  /** The training jobs placed on nodes (`finetune|pretrain --address`), read only. */
  jobs: PlacedJobsView;
  /** Serves the store of the head's process to clients on NATS (`byzerllm.storage.<operation>`). */
  serveStorage(host: StorageHost): void;
  /** Serves virtual keys and rate limits to gateways on NATS (`byzerllm.access.*`). */
  serveAccess(control: AccessControl): void;
  /** Serves routes to gateways on NATS and shares cooldowns (`byzerllm.governance.*`). */
  serveGovernance(governance: Governance): void;
  /**
   * `GovernanceOptions.cacheOf` for the head's governance: route caches in JetStream KV, the same
   * buckets every gateway of the cluster reads and fills (`kv-route-cache.ts`).
   */
  cacheOf(route: string, settings: CacheSettings): RouteCache;
  close(): Promise<void>;
}

/** Publishes where every deployment's workers run (`byzerllm_placement`), for any machine to read. */
async function writePlacement(bucket: KV, head: Head): Promise<void> {
  const deployments = await head.list();
  const names = new Set(deployments.map((deployment) => kvKey(deployment.name)));
  for await (const key of await bucket.keys()) {
    if (!names.has(key)) await bucket.delete(key);
  }
  for (const deployment of deployments) {
    await bucket.put(
      kvKey(deployment.name),
      JSON.stringify({ name: deployment.name, workers: deployment.workers }),
    );
  }
}

async function reconcileNode(
  connection: NatsConnection,
  head: Head,
  nodeId: string,
  options: Pick<NatsHeadOptions, 'clusterKey' | 'log'>,
): Promise<void> {
  const keep = (await head.list()).flatMap((deployment) =>
    deployment.workers.filter((worker) => worker.node === nodeId).map((worker) => worker.id),
  );
  try {
    const subject = subjects.nodeReconcile(nodeId);
    await natsRequest(connection, subject, signedEnvelope(options.clusterKey, subject, { keep }), 10_000);
  } catch (error) {
    options.log(`could not reconcile the workers of node ${nodeId}: ${(error as Error).message}`);
  }
}

export async function startNatsHead(options: NatsHeadOptions): Promise<NatsHead> {
  const { clusterKey, log } = options;
  const security = options.security ?? {};
  if (!clusterKey) {
    log(
      'no cluster key: nodes are not authenticated and deployment secrets rest in NATS KV in clear; ' +
        'give the head and every node --cluster_key_file (docs/cluster.md)',
    );
  }
  const connection = await connectNats(options.url, 'byzerllm-head', security);
  const store = await KvDeploymentStore.open(connection, clusterKey);
  const transport = new NatsTransport(connection, `${os.hostname()}-${process.pid}-${Date.now()}`, {
    ...(clusterKey ? { clusterKey } : {}),
  });
  const placementBucket = await new Kvm(connection).create(KV_PLACEMENT, { history: 1 });
  let publishing: Promise<void> = Promise.resolve();
  const publishPlacement = () => {
    publishing = publishing
      .then(() => writePlacement(placementBucket, head))
      .catch((error: unknown) => log(`could not publish worker placement: ${(error as Error).message}`));
  };
  const head = new Head({
    store,
    transport,
    resources: options.resources,
    localNode: false,
    log,
    onChange: publishPlacement,
  });
  // Node agents drop workers left over from a previous head: this head places everything anew.
  connection.publish(
    subjects.headHello,
    encodeSigned(clusterKey, subjects.headHello, { headId: transport.headId }),
  );
  let jobs: HeadJobs | undefined;
  const directory = new NodeDirectory({
    connection,
    ...(clusterKey ? { clusterKey } : {}),
    log,
    onJoined: async (advert) => {
      // A node may come back from a partition still running workers the head has placed elsewhere:
      // they are stopped before the node takes new ones.
      await reconcileNode(connection, head, advert.nodeId, options);
      await head.nodeJoined(advert.nodeId, advert.resources);
    },
    onLost: (nodeId, reason) => {
      jobs?.nodeLost(nodeId, reason);
      void head.nodeLost(nodeId, reason);
    },
  });
  // Nodes register on start so that `byzerllm start --address …` returns once the head knows them
  // (or fails with the reason the head refused it). One service endpoint of its own.
  const service = await createHeadService(connection);
  service.addEndpoint('register', {
    subject: subjects.admin('register'),
    queue: HEAD_QUEUE,
    handler: (_error, message) => {
      // Like every admin answer, sent again if a short disconnection of the head lost it.
      const respond = (reply: Reply<unknown>) => {
        const data = encode(reply);
        watchConnection(connection).publishReliably(() => message.respond(data));
      };
      const parsed = decodeSigned(clusterKey, message.subject, message.data, nodeAdvertSchema);
      if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
      const observed = directory.observe(parsed.value);
      if (!observed.accepted) {
        const refusal = new AlreadyExistsError(
          `node id ${parsed.value.nodeId} is already used by a live node ${describe(observed.holder)}; give this node another --node_id`,
        );
        log(`refused node ${parsed.value.nodeId} ${describe(parsed.value)}: its id is taken`);
        return respond(failureReply(refusal));
      }
      observed.joined.then(
        () => respond({ ok: true, result: null }),
        (error: unknown) => respond(failureReply(error)),
      );
    },
  });
  const jobStore = new HeadJobStore(path.join(options.stateDirectory, 'cluster-jobs'), log);
  jobs = new HeadJobs({
    connection,
    service,
    placer: head,
    store: jobStore,
    log,
    ...(clusterKey ? { clusterKey } : {}),
  });
  let agent: NodeAgent | undefined;
  let agentConnection: NatsConnection | undefined;
  if (!options.headOnly) {
    const nodeId = options.nodeId ?? defaultNodeId();
    agentConnection = await connectNats(options.url, `byzerllm-node-${nodeId}`, security);
    agent = await startNodeAgent({
      connection: agentConnection,
      nodeId,
      resources: options.resources,
      transport: options.localTransport ?? createInProcessTransport({ nodeId }),
      ...(clusterKey ? { clusterKey } : {}),
      ...(options.jobRunner ? { jobRunner: options.jobRunner } : {}),
      log,
    });
  }
  // Give running nodes a few heartbeats to announce themselves before deployments are placed again.
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS * 3));
  await head.restore();
  await jobs.restore();
  const cancellations = new CancellationRegistry(connection);
  const admin = await serveClusterOverNats(connection, head, cancellations, { service, log });
  log(
    `cluster head on ${redactNatsUrl(options.url)}${options.headOnly ? ' (no workers on this machine)' : ''}`,
  );
  return {
    head,
    jobs,
    serveStorage: (host) => serveStorageOverNats(connection, service, host, cancellations, log),
    serveAccess: (control) => serveAccessOverNats(connection, service, control, log),
    serveGovernance: (governance) => {
      serveGovernanceOverNats(connection, service, governance, log);
    },
    cacheOf: kvRouteCaches(connection, log),
    async close() {
      await admin.close();
      cancellations.close();
      jobs?.close();
      directory.close();
      await head.close();
      await agent?.close();
      await agentConnection?.drain().catch(() => {});
      await connection.drain().catch(() => {});
    },
  };
}
