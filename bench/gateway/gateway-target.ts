/**
 * A gateway for `bench/gateway/cpu.ts`: the OpenAI-compatible server over an in-process `Head` with
 * one `saas/openai` deployment (`bench_chat`), as `byzerllm serve` runs it inside the head.
 *
 *   node dist/bench/gateway/gateway-target.js --upstream URL --api-key KEY [--general] [--governed] [--cached]
 *
 * `--general` hides the head's OpenAI pass-through from the gateway, so every request takes the
 * general path (`ChatRequest` and `StreamPart`s): the "before" of the pass-through, in the same
 * build. `--governed` turns governance on: a virtual key with rpm/tpm limits and an rpm/tpm limit on
 * `bench_chat`, all too high to refuse anything, so every request is admitted, counted and settled
 * (the key is printed as `key`, for the requests to send). `--cached` (with `--governed`) adds route
 * `bench_cached` (`single` onto `bench_chat`) with a response cache, as `byzerllm route set` would:
 * requests that name it and ask something new each time take the cache's miss path. Prints
 * `{"url": …}` once listening.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  AccessControl,
  type ClusterApi,
  createInProcessTransport,
  createRoutedCluster,
  DeploymentStore,
  Governance,
  Head,
  pricesOfSpecs,
  routeTargetsOf,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import { startOpenAIServer } from '../../src/server/index.js';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    'api-key': { type: 'string' },
    general: { type: 'boolean', default: false },
    governed: { type: 'boolean', default: false },
    cached: { type: 'boolean', default: false },
  },
});
if (!values.upstream || !values['api-key']) {
  process.stderr.write('usage: gateway-target --upstream URL --api-key KEY [--general]\n');
  process.exit(2);
}

const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-gateway-'));
const head = new Head({
  store: new DeploymentStore(directory),
  transport: createInProcessTransport(),
  resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
});
await head.deploy({
  name: 'bench_chat',
  pretrainedModelType: 'saas/openai',
  workerConcurrency: 1000,
  inferParams: {
    'saas.api_key': values['api-key'],
    'saas.model': 'm',
    'saas.base_url': values.upstream,
    'gateway.price_input': '0.15',
    'gateway.price_output': '0.6',
  },
});

/** The route of `--cached`, in memory (no state directory), as the head's `Governance` holds it. */
async function cachedRoute(): Promise<Governance> {
  const routes = new Governance();
  await routes.set('bench_cached', {
    strategy: 'single',
    cache: { ttl_seconds: 300, max_entries: 1000 },
    targets: [{ deployment: 'bench_chat' }],
  });
  return routes;
}
const routes = values.cached ? await cachedRoute() : undefined;

/**
 * Keys and limits in memory (no state directory), composed as `head-main.ts` composes the head's: route
 * tries counted against their targets' own limits, and the tickets checked on the worker slots.
 */
async function governed(): Promise<{ gate: AccessControl; key: string }> {
  const keys = new VirtualKeyStore(undefined);
  const { key } = await keys.create({ rpm: 1_000_000_000, tpm: 1_000_000_000, budget: 9000 });
  await keys.setDeploymentLimits('bench_chat', { rpm: 1_000_000_000, tpm: 1_000_000_000 });
  const gate = new AccessControl({
    keys,
    priceOf: pricesOfSpecs((name) => head.specOf(name)),
    ...(routes ? { targetsOf: routeTargetsOf(routes) } : {}),
  });
  head.ticketCharges = gate;
  return { gate, key };
}
const governance = values.governed ? await governed() : undefined;

/** The head without its pass-through: every `ClusterApi` method but `openAIPassThrough`. */
function generalPathOnly(cluster: Head): ClusterApi {
  return {
    deploy: (spec) => cluster.deploy(spec),
    undeploy: (name, options) => cluster.undeploy(name, options),
    list: () => cluster.list(),
    stat: (name) => cluster.stat(name),
    meta: (name) => cluster.meta(name),
    call: (name, kind, request, options) => cluster.call(name, kind, request, options),
    stream: (name, request, options) => cluster.stream(name, request, options),
    status: () => cluster.status(),
  };
}

const server = await startOpenAIServer({
  // As `byzerllm serve` in the head: with routes, the cluster that resolves them (`head-main.ts`).
  cluster: values.general ? generalPathOnly(head) : routes ? createRoutedCluster(head, routes) : head,
  port: 0,
  ...(governance ? { gate: governance.gate } : {}),
  ...(routes ? { governance: routes } : {}),
});
process.stdout.write(
  `${JSON.stringify({ url: server.address, ...(governance ? { key: governance.key } : {}) })}\n`,
);

const stop = async () => {
  await server.close();
  await head.close();
  await fs.rm(directory, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
