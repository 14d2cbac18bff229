/**
 * The head process: the embedded control plane (`byzerllm start`, or started by `--address auto`).
 *
 * Restores persisted deployments, listens on 127.0.0.1 (port `$BYZERLLM_HEAD_PORT`, default any free
 * port), writes the head file and prints one ready line (the head file as JSON) on stdout. After that
 * it writes only to stderr (the log file): whoever started it may have closed the pipe. SIGTERM and
 * `POST /admin/v1/shutdown` stop it cleanly; deployments stay persisted for the next start.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import {
  attachStreamChannel,
  createAdminApi,
  createInProcessTransport,
  createLocalTransport,
  createProcessTransport,
  DeploymentStore,
  detectNodeResources,
  ensureStateDirectory,
  Head,
  type HeadFile,
  createRoutedCluster,
  Governance,
  AccessControl,
  pricesOfSpecs,
  routeTargetsOf,
  VirtualKeyStore,
  removeHeadFile,
  removeStaleTemporaryFiles,
  resolveStateDirectory,
  ClusterKey,
  natsSecurityFromEnvironment,
  startNatsHead,
  writeHeadFile,
  workerLogPath,
} from '../cluster/index.js';
import { createConsoleFeatures } from './console-features.js';
import { createTrainingJobRunner } from './training-job-runner.js';
import { PACKAGE_VERSION } from '../core/index.js';
import {
  type RunningConsole,
  type RunningOpenAIServer,
  startConsole,
  startOpenAIServer,
} from '../server/index.js';
import { createPredictHandler } from '../sql/index.js';
import {
  createStorageRoutes,
  embedThrough,
  STORAGE_OPERATIONS,
  StorageService,
  type StorageOperation,
} from '../storage/index.js';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} [head ${process.pid}] ${line}\n`);
}

export async function runHead(): Promise<void> {
  process.stdout.on('error', () => {}); // the starter may close our stdout after the ready line
  const stateDirectory = resolveStateDirectory();
  await ensureStateDirectory(stateDirectory);
  for (const name of await removeStaleTemporaryFiles(stateDirectory))
    log(`removed the stale temporary file ${name}`);
  const resources = await detectNodeResources();
  // SaaS workers in this process, local engines' workers in child processes.
  const localTransport = createLocalTransport({
    inProcess: createInProcessTransport(),
    process: createProcessTransport({
      log,
      workerLogFile: (deployment, workerIndex) => workerLogPath(stateDirectory, deployment, workerIndex),
    }),
  });
  const natsUrl = process.env.BYZERLLM_NATS_URL;
  // Cluster mode: deployments in NATS KV, workers on node agents. Embedded mode: all on this machine.
  const cluster = natsUrl
    ? await startNatsHead({
        url: natsUrl,
        resources,
        localTransport,
        jobRunner: createTrainingJobRunner(),
        stateDirectory,
        headOnly: process.env.BYZERLLM_HEAD_ONLY === '1',
        security: natsSecurityFromEnvironment(),
        // The head writes a new key file where none exists yet: copy it to every node.
        ...(process.env.BYZERLLM_CLUSTER_KEY_FILE
          ? {
              clusterKey: await ClusterKey.fromFile(process.env.BYZERLLM_CLUSTER_KEY_FILE, {
                createIfMissing: true,
                log,
              }),
            }
          : {}),
        ...(process.env.BYZERLLM_NODE_ID ? { nodeId: process.env.BYZERLLM_NODE_ID } : {}),
        log,
      })
    : undefined;
  const head =
    cluster?.head ??
    new Head({ store: new DeploymentStore(stateDirectory), transport: localTransport, resources, log });
  if (!cluster) await head.restore();

  // Byzer storage lives here, beside the deployments; LanceDB loads on its first request.
  const store = new StorageService({
    directory: path.join(stateDirectory, 'storage'),
    embed: embedThrough(head),
  });
  const storageRoutes = createStorageRoutes(store);
  const storageHost = {
    operations: STORAGE_OPERATIONS,
    call: (operation: string, body: unknown, signal?: AbortSignal) =>
      store.call(operation as StorageOperation, body as never, signal),
  };
  // Over NATS the store stays here, on the head's machine; clients reach it through the cluster API.
  cluster?.serveStorage(storageHost);

  // Routing configs by virtual model name (`byzerllm route`), kept beside the deployments. Over NATS
  // their response caches are in JetStream KV, shared with the gateways on other machines.
  const governance = new Governance({ stateDirectory, ...(cluster ? { cacheOf: cluster.cacheOf } : {}) });
  await governance.load(log);
  // Over NATS, gateways on other machines mirror these routes and share their cooldowns.
  cluster?.serveGovernance(governance);
  // Virtual keys and rate limits (`byzerllm keys`, `byzerllm limits`): this process is their one
  // counter, for its own gateways and, over NATS, for gateways on other machines.
  const keys = new VirtualKeyStore(stateDirectory);
  await keys.load();
  const access = new AccessControl({
    keys,
    priceOf: pricesOfSpecs((name) => head.specOf(name)),
    // A route's tries count against each target deployment's own limits (on its worker slots).
    targetsOf: routeTargetsOf(governance),
  });
  // Seconds budgets are checked and charged on the worker slots, where the time is spent.
  head.ticketCharges = access;
  cluster?.serveAccess(access);
  // What clients reach by name, through the admin API and the gateways: a route wherever a deployment.
  const routed = createRoutedCluster(head, governance);

  const token = randomBytes(24).toString('hex');
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${reason})`);
    server.close();
    store.close();
    await keys.flush().catch((error: unknown) => log(`could not save key spend: ${String(error)}`));
    if (cluster) await cluster.close();
    else await head.close();
    await removeHeadFile(stateDirectory, process.pid);
    log('stopped');
    process.exit(0);
  };
  // OpenAI-compatible gateways (`byzerllm serve`) run here, over the in-process head: no extra hop.
  const gateways = new Map<string, RunningOpenAIServer | RunningConsole>();
  let gatewaySequence = 0;
  const app = createAdminApi({
    cluster: routed,
    token,
    log,
    gateways: {
      async start({ console: isConsole, ...options }) {
        if (isConsole) {
          const opened = await startConsole({
            cluster: head,
            host: options.host,
            port: options.port,
            ...(options.apiKey ? { apiKey: options.apiKey } : {}),
            features: createConsoleFeatures({
              // The notebook calls routes by name as `byzerllm sql` does.
              cluster: routed,
              store,
              sqlFileAccess: Boolean(options.apiKey),
              ...(cluster ? { placedJobs: cluster.jobs } : {}),
            }),
          });
          const id = `console-${++gatewaySequence}`;
          gateways.set(id, opened);
          return { id, address: opened.address };
        }
        const gateway = await startOpenAIServer({
          cluster: routed,
          log,
          predict: createPredictHandler(routed),
          ...options,
          mounts: [storageRoutes],
          governance,
          gate: access,
        });
        const id = `gateway-${++gatewaySequence}`;
        gateways.set(id, gateway);
        return { id, address: gateway.address };
      },
      async stop(id) {
        const gateway = gateways.get(id);
        gateways.delete(id);
        await gateway?.close();
      },
    },
    storage: storageHost,
    governance,
    access,
    onShutdown: () => void stop('shutdown requested'),
  });
  const port = Number.parseInt(process.env.BYZERLLM_HEAD_PORT ?? '0', 10) || 0;
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port });
  // The CLI client's streams, all of one client over one connection (cluster/head/stream-channel.ts).
  attachStreamChannel(server as Server, { cluster: routed, token, log });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  head.address = address;
  const headFile: HeadFile = {
    pid: process.pid,
    address,
    token,
    version: PACKAGE_VERSION,
    startedAt: new Date().toISOString(),
  };
  await writeHeadFile(stateDirectory, headFile);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log(
    `listening on ${address}; state in ${stateDirectory}; ${resources.cpus} CPUs, ${resources.gpus.length} GPUs`,
  );
  // The ready line carries the admin token: only for the process that started us through a pipe.
  if (process.env.BYZERLLM_HEAD_NOTIFY === '1') process.stdout.write(`${JSON.stringify(headFile)}\n`);
  else process.stdout.write(`byzerllm head listening on ${address} (pid ${process.pid}); Ctrl+C stops it\n`);
}

runHead().catch((error: unknown) => {
  // One line with the reason (the CLI shows it), then the stack for whoever reads the log.
  log(`failed to start: ${(error as Error).message ?? String(error)}`);
  if ((error as Error).stack) log((error as Error).stack!);
  process.exit(1);
});
