/**
 * CPU time the gateway spends per request and per streamed chunk, against the bare proxy's: the
 * measure that decides throughput where the proxy saturates a core (c=64, streaming), and that a
 * loaded machine disturbs least. Proxies in front of one loopback upstream, each in its own process:
 * the bare proxy (`bare-proxy.ts`), the gateway on its general path, on the OpenAI pass-through
 * (`gateway-target.ts`, same build, `--general` or not), with a virtual key and rate limits on
 * (`--governed`), and with a cached route whose requests all miss the cache (`--governed --cached`;
 * its streams would be cache hits, so it has no per-chunk figure). A process's CPU time
 * (`/proc/PID/task/TID/schedstat` of every thread, nanoseconds on a CPU) is read before and after
 * each batch this process sends it.
 *
 *   npx tsc -p . && node dist/bench/gateway/cpu.js [--scale 1] [--rounds 9] [--compare-root DIR [--compare-governed]]
 *
 * Method: rounds of plain requests (c=16), then rounds of 1,000-chunk streams (c=16); in each round
 * every target once, in a new random order. Each figure "vs bare" is a ratio taken within a round,
 * and a row reports the median of its rounds' ratios with a 95 % interval of that median.
 * `--compare-root DIR` measures another build's gateways (e.g. an export of main, built) beside this
 * one's, started the same way and interleaved with them — every started process is measured, none
 * idles unmeasured — and adds this build ÷ that build per round, the A/B of a change. Run it with
 * two copies of the same code to see its noise: the interval must contain 1.00.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, streamThroughput } from './load.js';
import { loadNote, startJsonProcess, startUpstreamAndBare, stopProcesses, uptime } from './processes.js';
import { RawClient } from './raw-client.js';
import {
  failuresOfRounds,
  inRounds,
  medianOfRounds,
  type MeasuredTarget,
  openClients,
  proxyCpuRatio,
  type Rounds,
  versusBaseline,
} from './rounds.js';
import { formatRange, formatSpread } from './statistics.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    // More rounds resolve smaller differences on a loaded machine (the interval narrows).
    rounds: { type: 'string', default: '9' },
    // Another build's root (e.g. an export of main, built): its gateways are measured in the same
    // rounds, the "before" of a change side by side with the "after".
    'compare-root': { type: 'string' },
    // With --compare-root: also that build's governed targets (key + limits, route cache miss).
    'compare-governed': { type: 'boolean', default: false },
  },
});
const scale = Number(values.scale);
const roundCount = Number(values.rounds);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The gateway-target variants, by the flags that start them. */
const KINDS = [
  { kind: 'general path', flags: ['--general'] },
  { kind: 'pass-through', flags: [] },
  { kind: 'key + limits', flags: ['--governed'] },
  { kind: 'key + limits + route cache miss', flags: ['--governed', '--cached'] },
] as const;
type Kind = (typeof KINDS)[number]['kind'];

interface Build {
  /** `''` for this build, ` of DIR` for the compared one. */
  suffix: string;
  script: string;
  kinds: readonly Kind[];
}

/** Starts one gateway-target process of `build` in variant `kind`. */
async function startGateway(build: Build, kind: Kind, upstreamArgs: string[]): Promise<MeasuredTarget> {
  const flags = KINDS.find((entry) => entry.kind === kind)!.flags;
  const started = await startJsonProcess([build.script, ...upstreamArgs, ...flags]);
  const key = started.json.key;
  return {
    name: `gateway, ${kind}${build.suffix}`,
    origin: String(started.json.url),
    model: kind === 'key + limits + route cache miss' ? 'bench_cached' : 'bench_chat',
    headers: key ? { authorization: `Bearer ${String(key)}` } : {},
    // The same route asked something new each time: every request takes the cache's miss path.
    ...(kind === 'key + limits + route cache miss' ? { distinct: true } : {}),
    pid: started.child.pid!,
  };
}

/**
 * Every gateway of every build, started variant by variant with the builds alternating which goes
 * first, so neither build's processes are consistently the older or the later-started ones.
 */
async function startGateways(builds: Build[], upstreamArgs: string[]): Promise<MeasuredTarget[]> {
  const targets: MeasuredTarget[] = [];
  for (const [index, { kind }] of KINDS.entries()) {
    const order = index % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) {
      if (build.kinds.includes(kind)) targets.push(await startGateway(build, kind, upstreamArgs));
    }
  }
  return targets;
}

interface Measured {
  requests: Rounds<{ requestsPerSecond: number; failures: number }>;
  streams: Rounds<{ chunksPerSecond: number; failures: number }>;
}

async function measure(targets: MeasuredTarget[], upstreamPid: number): Promise<Measured> {
  const requestCount = Math.round(6000 * scale);
  const streamCount = Math.max(4, Math.round(32 * scale));
  const requestClients = await openClients(
    targets,
    (target) => new RawClient(target.origin),
    (target, raw) => runLoad(target, 16, Math.round(3000 * scale), { raw }),
  );
  const requests = await inRounds({
    targets,
    rounds: roundCount,
    upstreamPid,
    batch: async (target) => ({
      result: await runLoad(target, 16, requestCount, { raw: requestClients.of(target) }),
      operations: requestCount,
    }),
  });
  await requestClients.close();
  // Streams send one fixed body: after the first, a cached route's would be hits, not its path.
  const streamed = targets.filter((target) => !target.distinct);
  const options = { concurrency: 16, words: 1000 };
  const streamClients = await openClients(
    streamed,
    (target) => new RawClient(target.origin),
    (target, raw) =>
      streamThroughput(target, { ...options, count: Math.max(4, Math.round(16 * scale)), raw }),
  );
  const streams = await inRounds({
    targets: streamed,
    rounds: roundCount,
    upstreamPid,
    batch: async (target) => {
      const result = await streamThroughput(target, {
        ...options,
        count: streamCount,
        raw: streamClients.of(target),
      });
      return { result, operations: result.chunks };
    },
  });
  await streamClients.close();
  return { requests, streams };
}

/** Per-round CPU-per-operation ratios of `name` to `baseline`, summarised. */
function cpuRatio<Result>(rounds: Rounds<Result>, name: string, baseline: string) {
  return versusBaseline(rounds, name, baseline, proxyCpuRatio);
}

const proxyCpu = (batch: { cpu: { proxy: number } }) => batch.cpu.proxy;

function failures(measured: Measured, name: string): number {
  return failuresOfRounds(measured.requests, name) + failuresOfRounds(measured.streams, name);
}

function cell(value: string, present: boolean): string {
  return present ? value : '—';
}

function report(targets: MeasuredTarget[], measured: Measured, compareSuffix?: string): string[] {
  const bare = targets[0]!.name;
  const { requests, streams } = measured;
  const lines = [
    '| target | CPU per request vs bare [95 % CI] | CPU per chunk vs bare [95 % CI] | CPU µs per request | CPU µs per chunk | req/s | chunks/s | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name } of targets) {
    const streamed = streams.has(name);
    lines.push(
      `| ${name} | ${formatSpread(cpuRatio(requests, name, bare), 2)} | ${cell(formatSpread(cpuRatio(streams, name, bare), 2), streamed)} | ${medianOfRounds(requests, name, proxyCpu).toFixed(1)} | ${cell(medianOfRounds(streams, name, proxyCpu).toFixed(2), streamed)} | ${medianOfRounds(requests, name, (batch) => batch.result.requestsPerSecond).toFixed(0)} | ${cell(medianOfRounds(streams, name, (batch) => batch.result.chunksPerSecond).toFixed(0), streamed)} | ${failures(measured, name)} |`,
    );
  }
  if (compareSuffix === undefined) return lines;
  lines.push(
    '',
    `| gateway | CPU per request, this build ÷ the build${compareSuffix} [95 % CI] | rounds min–max | CPU per chunk, this ÷ that [95 % CI] | rounds min–max |`,
    '|---|---:|---:|---:|---:|',
  );
  for (const { name } of targets) {
    const other = `${name}${compareSuffix}`;
    if (!requests.has(other)) continue;
    const perRequest = cpuRatio(requests, name, other);
    const perChunk = cpuRatio(streams, name, other);
    const streamed = streams.has(name);
    lines.push(
      `| ${name} | ${formatSpread(perRequest, 3)} | ${formatRange(perRequest, 3)} | ${cell(formatSpread(perChunk, 3), streamed)} | ${cell(formatRange(perChunk, 3), streamed)} |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const started = uptime();
  const { upstream, bare } = await startUpstreamAndBare(root);
  const { url, apiKey } = upstream;
  const builds: Build[] = [
    {
      suffix: '',
      script: path.join(root, 'dist/bench/gateway/gateway-target.js'),
      kinds: KINDS.map((entry) => entry.kind),
    },
  ];
  const compareRoot = values['compare-root'];
  const compareSuffix = compareRoot ? ` of ${compareRoot}` : undefined;
  if (compareRoot) {
    builds.push({
      suffix: compareSuffix!,
      script: path.join(compareRoot, 'dist/bench/gateway/gateway-target.js'),
      kinds: values['compare-governed']
        ? ['pass-through', 'key + limits', 'key + limits + route cache miss']
        : ['pass-through'],
    });
  }
  const targets: MeasuredTarget[] = [
    {
      name: 'bare proxy',
      origin: bare.url,
      model: 'm',
      headers: { authorization: `Bearer ${apiKey}` },
      pid: bare.pid,
    },
    ...(await startGateways(builds, ['--upstream', url, '--api-key', apiKey])),
  ];
  const measured = await measure(targets, upstream.pid);
  const isCompared = (target: MeasuredTarget) =>
    compareSuffix !== undefined && target.name.endsWith(compareSuffix);
  const lines = [
    started,
    `Node ${process.version}, ${os.cpus().length} CPUs, scale ${scale}: ${Math.round(6000 * scale)} plain requests, then ${Math.max(4, Math.round(32 * scale))} streams of 1,000 chunks, per target per round at c=16; ${roundCount} rounds each, targets in a new random order every round; "vs bare" and "÷" are medians of per-round ratios`,
    '',
    // This build's rows first, then the compared build's (they were started and measured interleaved).
    ...report(
      [...targets].sort((left, right) => Number(isCompared(left)) - Number(isCompared(right))),
      measured,
      compareSuffix,
    ),
    uptime(),
    ...loadNote(),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} finally {
  stopProcesses();
}
