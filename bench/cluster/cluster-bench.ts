/**
 * bench/cluster: the latency a NATS hop adds to a call, against the embedded path, in one run.
 *
 * Same deployment (saas/openai against a loopback upstream answering at once), called three ways:
 * - direct:   the engine alone (no cluster), the floor;
 * - embedded: `Head` in this process (what the embedded head does per call);
 * - nats:     a `NatsClusterClient` → head over NATS → worker on a node agent over NATS
 *             (head and node in this process, each on its own NATS connection, one real nats-server).
 * Prints p50/p99 per call and throughput at concurrency 1 and 16, and the added p50 of NATS over
 * embedded (the target: within 0.5 ms).
 *
 * Run: npx tsc -p . && node dist/bench/cluster/cluster-bench.js [--requests 2000]
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { serve } from '@hono/node-server';
import path from 'node:path';
import fs from 'node:fs/promises';
import {
  connectNats,
  createAdminApi,
  HeadClient,
  createInProcessTransport,
  DeploymentStore,
  Head,
  NatsClusterClient,
  NatsTransport,
  serveClusterOverNats,
  CancellationRegistry,
  startNodeAgent,
  type ClusterApi,
} from '../../src/cluster/index.js';
import { resolveEngine } from '../../src/engines/index.js';
import { deploymentSpecSchema } from '../../src/core/index.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { processCpuSeconds } from '../process-cpu.js';
import { startOpenAIUpstream } from '../../test/support/openai-upstream.js';

const requestsArgument = process.argv.indexOf('--requests');
const REQUESTS = requestsArgument > 0 ? Number(process.argv[requestsArgument + 1]) : 2000;
const resources = { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), gpus: [] };

type Call = () => Promise<unknown>;

interface Measured {
  p50: number;
  p99: number;
  rps: number;
  /** CPU µs per call of this process (client, head, node, upstream) and of the nats-server. */
  cpuMicros: number;
  natsMicros: number;
}

async function measure(call: Call, concurrency: number, natsPid: number): Promise<Measured> {
  for (let index = 0; index < 200; index++) await call(); // warm up connections and JIT
  const latencies: number[] = [];
  let next = 0;
  const ownBefore = await processCpuSeconds(process.pid);
  const natsBefore = await processCpuSeconds(natsPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < REQUESTS) {
        const begin = performance.now();
        await call();
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const own = (await processCpuSeconds(process.pid)) - ownBefore;
  const natsCpu = (await processCpuSeconds(natsPid)) - natsBefore;
  latencies.sort((a, b) => a - b);
  return {
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    rps: latencies.length / elapsed,
    cpuMicros: (own / latencies.length) * 1e6,
    natsMicros: (natsCpu / latencies.length) * 1e6,
  };
}

async function main(): Promise<void> {
  const upstream = await startOpenAIUpstream({ recordRequests: false });
  const nats = await startNatsServer();
  const spec = deploymentSpecSchema.parse({
    name: 'bench',
    pretrainedModelType: 'saas/openai',
    numWorkers: 2,
    workerConcurrency: 64,
    inferParams: { 'saas.api_key': upstream.apiKey, 'saas.base_url': upstream.url, 'saas.max_retries': '0' },
  });
  const request = { messages: [{ role: 'user' as const, content: 'hello' }] };

  const engine = await resolveEngine(spec)({ spec, workerIndex: 0, gpuIndices: [], warn: () => {} });
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-'));
  const natsDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-'));
  const embedded = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources,
  });
  await embedded.deploy(spec);

  const nodeConnection = await connectNats(nats.url, 'bench-node');
  const agent = await startNodeAgent({
    connection: nodeConnection,
    nodeId: 'bench-node',
    resources,
    transport: createInProcessTransport(),
  });
  const headConnection = await connectNats(nats.url, 'bench-head');
  const natsHead = new Head({
    store: new DeploymentStore(natsDirectory),
    transport: new NatsTransport(headConnection),
    resources,
    localNode: false,
  });
  await natsHead.nodeJoined('bench-node', resources);
  await natsHead.deploy(spec);
  const cancellations = new CancellationRegistry(headConnection);
  const admin = await serveClusterOverNats(headConnection, natsHead, cancellations);
  const client = await NatsClusterClient.connect(nats.url);
  const adminApp = createAdminApi({ cluster: embedded, token: 'bench' });
  const adminServer = serve({ fetch: adminApp.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => adminServer.once('listening', resolve));
  const headClient = new HeadClient({
    address: `http://127.0.0.1:${(adminServer.address() as AddressInfo).port}`,
    token: 'bench',
  });

  const paths: [string, Call][] = [
    ['direct (engine only)', () => engine.chat!.doGenerate(request)],
    ['embedded head, in its process', () => (embedded as ClusterApi).call('bench', 'chat', request)],
    ['embedded head via its admin API (CLI path)', () => headClient.call('bench', 'chat', request)],
    ['NATS (client → head → node)', () => client.call('bench', 'chat', request)],
  ];
  const results: Record<string, Record<number, Awaited<ReturnType<typeof measure>>>> = {};
  const natsPid = nats.pid!;
  for (const [, call] of paths) await measure(call, 4, natsPid); // one untimed pass so order does not favour anyone
  for (const concurrency of [1, 16]) {
    for (const [name, call] of paths) {
      results[name] ??= {};
      results[name]![concurrency] = await measure(call, concurrency, natsPid);
    }
  }
  const rows = paths.map(([name]) => {
    const one = results[name]![1]!;
    const sixteen = results[name]![16]!;
    return `| ${name} | ${one.p50.toFixed(3)} | ${one.p99.toFixed(3)} | ${one.rps.toFixed(0)} | ${sixteen.p50.toFixed(3)} | ${sixteen.rps.toFixed(0)} | ${one.cpuMicros.toFixed(0)} | ${one.natsMicros.toFixed(0)} |`;
  });
  const embeddedName = 'embedded head via its admin API (CLI path)';
  const embeddedRun = results[embeddedName]![1]!;
  const natsRun = results['NATS (client → head → node)']![1]!;
  process.stdout.write(
    [
      `requests per cell: ${REQUESTS}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`,
      '',
      '| path | p50 ms c=1 | p99 ms c=1 | req/s c=1 | p50 ms c=16 | req/s c=16 | CPU µs/call c=1, this process | CPU µs/call c=1, nats-server |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `NATS adds ${(natsRun.p50 - embeddedRun.p50).toFixed(3)} ms p50 per call over the embedded path at c=1 ` +
        `(target: within 0.5 ms); throughput ratio NATS/embedded at c=16: ${(results['NATS (client → head → node)']![16]!.rps / results[embeddedName]![16]!.rps).toFixed(2)}; ` +
        `CPU per call at c=1 over the embedded path: ${(natsRun.cpuMicros + natsRun.natsMicros - embeddedRun.cpuMicros).toFixed(0)} µs (this process and the nats-server)`,
      '',
    ].join('\n'),
  );

  await client.close();
  await headClient.close();
  await new Promise((resolve) => adminServer.close(resolve));
  await admin.close();
  cancellations.close();
  await natsHead.close();
  await agent.close();
  await headConnection.drain();
  await nodeConnection.drain();
  await embedded.close();
  await engine.dispose();
  await nats.close();
  await upstream.close();
  for (const folder of [directory, natsDirectory]) await fs.rm(folder, { recursive: true, force: true });
}

await main();
