/**
 * CPU time the gateway spends per request and per streamed chunk, against the bare proxy's: the
 * measure that decides throughput where the proxy saturates a core (c=64, streaming), and that a
 * loaded machine disturbs least. Four proxies in front of one loopback upstream: the bare proxy
 * (`bare-proxy.ts`), the gateway on its general path, the gateway on the OpenAI pass-through
 * (`gateway-target.ts`, same build, `--general` or not), and the gateway with a virtual key and
 * rate limits on (`--governed`), and the same with a cached route whose requests all miss the cache
 * (`--governed --cached`; its streams would be cache hits, so it has no per-chunk figure). Each runs in its own process; its CPU time
 * (`/proc/PID/task/TID/schedstat` of every thread, nanoseconds on a CPU) is taken before and
 * after a batch of requests sent by this process. Rounds alternate the targets,
 * each round starting with another; the median round is reported, ratios to the bare proxy first, absolute numbers second.
 *
 *   npx tsc -p . && node dist/bench/gateway/cpu.js [--scale 1] [--rounds 3] [--compare-root DIR [--compare-governed]]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuSeconds } from '../process-cpu.js';
import { runLoad, streamThroughput, type Target } from './load.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    // More rounds resolve smaller differences on a loaded machine (the median of more rounds).
    rounds: { type: 'string', default: '3' },
    // Another build's root (e.g. an export of main, built): its pass-through is measured in the same
    // rounds, the "before" of a change side by side with the "after".
    'compare-root': { type: 'string' },
    // With --compare-root: also that build's governed targets (key + limits, route cache miss).
    'compare-governed': { type: 'boolean', default: false },
  },
});
const scale = Number(values.scale);
const roundCount = Number(values.rounds);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcess[] = [];

function startProcess(args: string[]): Promise<{ child: ChildProcess; json: Record<string, unknown> }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve({ child, json: JSON.parse(line) as Record<string, unknown> });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${errors}`)));
  });
}

interface Measured {
  target: string;
  requestMicros: number;
  chunkMicros: number;
  requestsPerSecond: number;
  chunksPerSecond: number;
  failures: number;
}

async function measure(target: Target, pid: number, requests: number, streams: number): Promise<Measured> {
  const before = await processCpuSeconds(pid);
  const load = await runLoad(target, 16, requests);
  const middle = await processCpuSeconds(pid);
  const requestMicros = ((middle - before) / requests) * 1e6;
  if (target.distinct) {
    // Streams send one fixed body: after the first they would be cache hits, not this row's path.
    const { requestsPerSecond, failures } = load;
    return {
      target: target.name,
      requestMicros,
      chunkMicros: Number.NaN,
      requestsPerSecond,
      chunksPerSecond: Number.NaN,
      failures,
    };
  }
  const stream = await streamThroughput(target, { concurrency: 16, count: streams, words: 1000 });
  const after = await processCpuSeconds(pid);
  // Chunks received: the rate times the seconds the batch took (derived from the streams' rate).
  const chunks = (stream.chunksPerSecond * (streams - stream.failures)) / stream.streamsPerSecond;
  return {
    target: target.name,
    requestMicros,
    chunkMicros: ((after - middle) / chunks) * 1e6,
    requestsPerSecond: load.requestsPerSecond,
    chunksPerSecond: stream.chunksPerSecond,
    failures: load.failures + stream.failures,
  };
}

/** A table cell: the number, or a dash for a figure the target has none of. */
function figure(value: number, digits: number): string {
  return Number.isNaN(value) ? '—' : value.toFixed(digits);
}

/**
 * The gateway's pass-through, and with governance on: key + limits, and key + limits + a cached
 * route's miss path. `args` start one build's `gateway-target.js`; `suffix` names the build.
 */
async function gatewayTargets(args: string[], suffix: string): Promise<{ target: Target; pid: number }[]> {
  const passThrough = await startProcess(args);
  const governed = await startProcess([...args, '--governed']);
  const cached = await startProcess([...args, '--governed', '--cached']);
  const bearer = (started: { json: Record<string, unknown> }) => ({
    authorization: `Bearer ${String(started.json.key)}`,
  });
  return [
    {
      target: {
        name: `gateway, pass-through${suffix}`,
        origin: String(passThrough.json.url),
        model: 'bench_chat',
        headers: {},
      },
      pid: passThrough.child.pid!,
    },
    {
      // Governance on: a virtual key and limits on the key and the deployment, every request admitted
      // and settled (its streams ask the upstream for usage and stay on the pass-through).
      target: {
        name: `gateway, key + limits${suffix}`,
        origin: String(governed.json.url),
        model: 'bench_chat',
        headers: bearer(governed),
      },
      pid: governed.child.pid!,
    },
    {
      // The same with a route that has a response cache, every request something new: its miss path.
      target: {
        name: `gateway, key + limits + route cache miss${suffix}`,
        origin: String(cached.json.url),
        model: 'bench_cached',
        headers: bearer(cached),
        distinct: true,
      },
      pid: cached.child.pid!,
    },
  ];
}

function median(list: number[]): number {
  return [...list].sort((left, right) => left - right)[Math.floor(list.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const upstream = (
    await startProcess([
      path.join(root, 'dist/test/support/openai-upstream-main.js'),
      '--port',
      '0',
      '--no-record',
    ])
  ).json as { url: string; port: number; apiKey: string };
  const authorization = { authorization: `Bearer ${upstream.apiKey}` };
  const bare = await startProcess([
    path.join(root, 'dist/bench/gateway/bare-proxy.js'),
    '--upstream',
    `http://127.0.0.1:${upstream.port}`,
  ]);
  const gatewayArgs = [
    path.join(root, 'dist/bench/gateway/gateway-target.js'),
    '--upstream',
    upstream.url,
    '--api-key',
    upstream.apiKey,
  ];
  const general = await startProcess([...gatewayArgs, '--general']);
  const targets: { target: Target; pid: number }[] = [
    {
      target: { name: 'bare proxy', origin: String(bare.json.url), model: 'm', headers: authorization },
      pid: bare.child.pid!,
    },
    {
      target: {
        name: 'gateway, general path',
        origin: String(general.json.url),
        model: 'bench_chat',
        headers: {},
      },
      pid: general.child.pid!,
    },
    ...(await gatewayTargets(gatewayArgs, '')),
  ];
  const compareRoot = values['compare-root'];
  if (compareRoot) {
    const otherArgs = [
      path.join(compareRoot, 'dist/bench/gateway/gateway-target.js'),
      ...gatewayArgs.slice(1),
    ];
    const others = await gatewayTargets(otherArgs, ` of ${compareRoot}`);
    targets.push(...(values['compare-governed'] ? others : others.slice(0, 1)));
  }
  const requests = Math.round(6000 * scale);
  const streams = Math.max(4, Math.round(32 * scale));
  for (const { target } of targets) {
    await runLoad(target, 16, Math.round(3000 * scale));
    if (target.distinct) continue;
    await streamThroughput(target, {
      concurrency: 16,
      count: Math.max(4, Math.round(16 * scale)),
      words: 1000,
    });
  }
  const rounds: Measured[][] = targets.map(() => []);
  for (let round = 0; round < roundCount; round++) {
    // Each round starts with another target, so a load that rises or falls during a round does not
    // always hit the same one.
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const { target, pid } = targets[index]!;
      rounds[index]!.push(await measure(target, pid, requests, streams));
    }
  }
  const summary = rounds.map((list) => ({
    target: list[0]!.target,
    requestMicros: median(list.map((result) => result.requestMicros)),
    chunkMicros: median(list.map((result) => result.chunkMicros)),
    requestsPerSecond: median(list.map((result) => result.requestsPerSecond)),
    chunksPerSecond: median(list.map((result) => result.chunksPerSecond)),
    failures: list.reduce((sum, result) => sum + result.failures, 0),
  }));
  const base = summary[0]!;
  const lines = [
    `Node ${process.version}, ${os.cpus().length} CPUs, scale ${scale}: ${requests} plain requests and ${streams} streams of 1,000 chunks per round at c=16, median of ${roundCount} rounds`,
    '',
    '| target | CPU per request vs bare | CPU per chunk vs bare | CPU µs per request | CPU µs per chunk | req/s | chunks/s | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map(
      (result) =>
        `| ${result.target} | ${(result.requestMicros / base.requestMicros).toFixed(2)} | ${figure(result.chunkMicros / base.chunkMicros, 2)} | ${result.requestMicros.toFixed(1)} | ${figure(result.chunkMicros, 2)} | ${result.requestsPerSecond.toFixed(0)} | ${figure(result.chunksPerSecond, 0)} | ${result.failures} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
}
