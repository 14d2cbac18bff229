/**
 * bench/cluster/route-cache-kv: what a route's response cache in JetStream KV costs a gateway per
 * lookup and per store, against a raw NATS request/reply of the same answer measured side by side
 * in one run (what the removed head-owned `governance.cache.get|set` subjects cost at the least:
 * one round trip to a responder holding the answer in memory, here with no parsing at all).
 *
 * One real nats-server (JetStream, file storage); the responder and the cache on their own
 * connections in this process. Prints per operation, at concurrency 1 and 16: p50 latency, CPU µs
 * per operation of this process and of nats-server, and ratios to the raw round trip.
 *
 * Run: npx tsc -p . && node dist/bench/cluster/route-cache-kv.js [--operations 3000]
 */
import { connect } from '@nats-io/transport-node';
import { KvRouteCache, ResponseCacheBucket } from '../../src/cluster/index.js';
import type { ChatResult } from '../../src/core/index.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { processCpuSeconds } from '../process-cpu.js';

const operationsArgument = process.argv.indexOf('--operations');
const OPERATIONS = operationsArgument > 0 ? Number(process.argv[operationsArgument + 1]) : 3000;

/** A typical short chat answer (about 1 KB of JSON). */
const ANSWER: ChatResult = {
  text: 'The cached answer. '.repeat(45),
  toolCalls: [],
  finishReason: 'stop',
  usage: { inputTokens: 120, outputTokens: 200 },
  requestId: 'chatcmpl-bench',
  modelId: 'bench-model',
  warnings: [],
};

interface Measured {
  p50Micros: number;
  ownCpuMicros: number;
  natsCpuMicros: number;
}

async function measure(
  operation: (index: number) => Promise<unknown>,
  concurrency: number,
  natsPid: number,
): Promise<Measured> {
  for (let index = 0; index < 200; index++) await operation(-1 - index); // warm up
  const latencies: number[] = [];
  let next = 0;
  const ownBefore = await processCpuSeconds(process.pid);
  const natsBefore = await processCpuSeconds(natsPid);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < OPERATIONS) {
        const index = next++;
        const started = performance.now();
        await operation(index);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const own = (await processCpuSeconds(process.pid)) - ownBefore;
  const nats = (await processCpuSeconds(natsPid)) - natsBefore;
  latencies.sort((left, right) => left - right);
  return {
    p50Micros: latencies[Math.floor(latencies.length / 2)]! * 1000,
    ownCpuMicros: (own / OPERATIONS) * 1e6,
    natsCpuMicros: (nats / OPERATIONS) * 1e6,
  };
}

const nats = await startNatsServer();
const responderConnection = await connect({ servers: nats.url });
const clientConnection = await connect({ servers: nats.url });
try {
  const encoded = new TextEncoder().encode(JSON.stringify(ANSWER));
  responderConnection.subscribe('bench.cache.get', {
    callback: (_error, message) => {
      message.respond(encoded);
    },
  });
  await responderConnection.flush();
  const failures: string[] = [];
  const cache = new KvRouteCache({
    bucket: new ResponseCacheBucket({ connection: clientConnection, log: (line) => failures.push(line) }),
    route: 'bench',
    settings: { ttl_seconds: 3600, max_entries: 1000 },
  });
  await cache.set('hit', ANSWER);
  const natsPid = nats.pid!;
  const rows: [string, (index: number) => Promise<unknown>][] = [
    ['raw NATS request/reply (baseline)', () => clientConnection.request('bench.cache.get', 'key')],
    ['KV get, hit (zod-checked)', () => cache.get('hit')],
    ['KV get, miss', (index) => cache.get(`miss ${index}`)],
    ['KV put (a miss stores its answer)', (index) => cache.set(`stored ${index}`, ANSWER)],
  ];
  for (const concurrency of [1, 16]) {
    let baseline: Measured | undefined;
    console.log(`\nconcurrency ${concurrency}, ${OPERATIONS} operations each`);
    console.log('| operation | p50 µs | × raw p50 | CPU µs/op (this process) | CPU µs/op (nats-server) |');
    console.log('|---|---|---|---|---|');
    for (const [name, operation] of rows) {
      const measured = await measure(operation, concurrency, natsPid);
      baseline ??= measured;
      console.log(
        `| ${name} | ${measured.p50Micros.toFixed(0)} | ${(measured.p50Micros / baseline.p50Micros).toFixed(2)} | ${measured.ownCpuMicros.toFixed(0)} | ${measured.natsCpuMicros.toFixed(0)} |`,
      );
    }
  }
  if (failures.length > 0) throw new Error(`the cache failed during the run: ${failures.join('; ')}`);
} finally {
  await clientConnection.close();
  await responderConnection.close();
  await nats.close();
}
