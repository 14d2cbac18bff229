/**
 * The tables and verdicts of `run.ts`. Every "vs bare" figure is the median of per-round figures (each
 * taken within one round, side by side) with a 95 % interval of that median in brackets and the
 * rounds' min–max; absolute numbers are medians over the rounds. CPU time is given per process: the
 * one under test, the upstream and the load generator, since on two cores all three share the CPUs.
 */
import type { LoadResult, StreamThroughputResult } from './load.js';
import {
  type Batch,
  failuresOfRounds,
  type MeasuredTarget,
  medianOfRounds,
  proxyCpuRatio,
  type Rounds,
  ratio,
  systemCpu,
  versusBaseline,
} from './rounds.js';
import { formatRange, formatSpread, type Spread, verdict } from './statistics.js';

export interface Measurements {
  requests: Map<number, Rounds<LoadResult>>;
  firstToken: Rounds<{ p50Ms: number; failures: number; error?: string }>;
  streaming: Rounds<StreamThroughputResult>;
}

interface Names {
  bare: string;
  serve: string;
  governed: string;
  cached: string;
}

const CONCURRENCIES = [1, 16, 64] as const;

function firstError<Result extends { error?: string }>(rounds: Rounds<Result>, name: string): string {
  const error = (rounds.get(name) ?? []).find((batch) => batch.result.error)?.result.error;
  return error ? ` (${error.slice(0, 100)})` : '';
}

/** Figures of one target against the bare proxy, per round, summarised. */
class Versus {
  constructor(
    private readonly measurements: Measurements,
    private readonly bare: string,
  ) {}

  throughput(name: string, concurrency: number): Spread {
    return versusBaseline(this.requests(concurrency), name, this.bare, (target, base) =>
      ratio(target.result.requestsPerSecond, base.result.requestsPerSecond),
    );
  }

  p50Added(name: string, concurrency: number): Spread {
    return versusBaseline(this.requests(concurrency), name, this.bare, p50Difference);
  }

  /** The process under test's CPU per request over the bare proxy's, per round. */
  proxyCpu(name: string, concurrency: number): Spread {
    return versusBaseline(this.requests(concurrency), name, this.bare, proxyCpuRatio);
  }

  /**
   * The bare proxy's CPU per request of all three processes over this target's: the throughput ratio
   * a machine saturated by these three processes would show, whatever the scheduler does.
   */
  cpuBoundThroughput(name: string, concurrency: number): Spread {
    return versusBaseline(this.requests(concurrency), name, this.bare, (target, base) =>
      ratio(systemCpu(base.cpu), systemCpu(target.cpu)),
    );
  }

  streams(name: string): Spread {
    return versusBaseline(this.measurements.streaming, name, this.bare, (target, base) =>
      ratio(target.result.chunksPerSecond, base.result.chunksPerSecond),
    );
  }

  streamCpu(name: string): Spread {
    return versusBaseline(this.measurements.streaming, name, this.bare, proxyCpuRatio);
  }

  firstTokenAdded(name: string, direct: string): Spread {
    return versusBaseline(this.measurements.firstToken, name, direct, p50Difference);
  }

  requests(concurrency: number): Rounds<LoadResult> {
    return this.measurements.requests.get(concurrency)!;
  }
}

/** How much later the target's p50 is than the baseline's, in the same round. */
const p50Difference = (target: Batch<{ p50Ms: number }>, base: Batch<{ p50Ms: number }>) =>
  target.result.p50Ms - base.result.p50Ms;

function figure(value: number, digits: number): string {
  return Number.isNaN(value) ? '—' : value.toFixed(digits);
}

function requestTables(targets: readonly MeasuredTarget[], versus: Versus, bare: string): string[] {
  const lines = [
    '| target | c | req/s vs bare [95 % CI] | rounds min–max | p50 − bare p50 ms [95 % CI] | req/s | p50 ms | p99 ms | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const cpu = [
    '| target | c | proxy CPU per request vs bare [95 % CI] | proxy µs/req | upstream µs/req | generator µs/req | all three µs/req | throughput if CPU-bound, vs bare [95 % CI] |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const concurrency of CONCURRENCIES) {
    const rounds = versus.requests(concurrency);
    for (const { name, pid } of targets) {
      const throughput = versus.throughput(name, concurrency);
      const median = (pick: (result: LoadResult) => number) =>
        medianOfRounds(rounds, name, (batch) => pick(batch.result));
      lines.push(
        `| ${name} | ${concurrency} | ${formatSpread(throughput, 2)} | ${formatRange(throughput, 2)} | ${formatSpread(versus.p50Added(name, concurrency), 3)} | ${median((result) => result.requestsPerSecond).toFixed(0)} | ${median((result) => result.p50Ms).toFixed(3)} | ${median((result) => result.p99Ms).toFixed(3)} | ${failuresOfRounds(rounds, name)}${firstError(rounds, name)} |`,
      );
      const cpuOf = (pick: (cpu: { generator: number; upstream: number; proxy: number }) => number) =>
        medianOfRounds(rounds, name, (batch) => pick(batch.cpu));
      const proxy = pid === undefined ? '—' : formatSpread(versus.proxyCpu(name, concurrency), 2);
      cpu.push(
        `| ${name} | ${concurrency} | ${name === bare ? '1.00' : proxy} | ${pid === undefined ? '—' : cpuOf((value) => value.proxy).toFixed(1)} | ${cpuOf((value) => value.upstream).toFixed(1)} | ${cpuOf((value) => value.generator).toFixed(1)} | ${cpuOf(systemCpu).toFixed(1)} | ${formatSpread(versus.cpuBoundThroughput(name, concurrency), 2)} |`,
      );
    }
  }
  return [...lines, '', ...cpu];
}

function streamTables(
  streamed: readonly MeasuredTarget[],
  versus: Versus,
  measurements: Measurements,
): string[] {
  const direct = streamed[0]!.name;
  const lines = [
    '| target | time to first token p50 − direct ms [95 % CI] | rounds min–max | time to first token p50 ms | failures |',
    '|---|---:|---:|---:|---:|',
  ];
  const { firstToken, streaming } = measurements;
  for (const { name } of streamed) {
    const added = versus.firstTokenAdded(name, direct);
    lines.push(
      `| ${name} | ${formatSpread(added, 3)} | ${formatRange(added, 3)} | ${figure(
        medianOfRounds(firstToken, name, (batch) => batch.result.p50Ms),
        3,
      )} | ${failuresOfRounds(firstToken, name)}${firstError(firstToken, name)} |`,
    );
  }
  lines.push(
    '',
    '| target | chunks/s vs bare (1,000-chunk streams, c=16) [95 % CI] | rounds min–max | proxy CPU per chunk vs bare [95 % CI] | proxy µs/chunk | upstream µs/chunk | generator µs/chunk | chunks/s | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const { name, pid } of streamed) {
    const chunks = versus.streams(name);
    const cpuOf = (pick: (cpu: { generator: number; upstream: number; proxy: number }) => number) =>
      figure(
        medianOfRounds(streaming, name, (batch) => pick(batch.cpu)),
        2,
      );
    lines.push(
      `| ${name} | ${formatSpread(chunks, 2)} | ${formatRange(chunks, 2)} | ${pid === undefined ? '—' : formatSpread(versus.streamCpu(name), 2)} | ${pid === undefined ? '—' : cpuOf((cpu) => cpu.proxy)} | ${cpuOf((cpu) => cpu.upstream)} | ${cpuOf((cpu) => cpu.generator)} | ${figure(
        medianOfRounds(streaming, name, (batch) => batch.result.chunksPerSecond),
        0,
      )} | ${failuresOfRounds(streaming, name)}${firstError(streaming, name)} |`,
    );
  }
  return lines;
}

/**
 * Whether the load generator (or the upstream) was the ceiling: if `direct` is not well above the
 * bare proxy, a slower proxy could hide behind the generator's own limit. Judged by CPU, which a
 * loaded machine disturbs far less than the wall clock (shown beside it): the generator, one event
 * loop like the proxy, must spend at most 1/1.5 of the bare proxy's CPU per request, and direct's
 * "throughput if CPU-bound" (the bare proxy's three processes' CPU per request over direct's two)
 * must be at least 1.5× — both as medians over the rounds.
 */
function generatorCheck(versus: Versus, names: Names): string[] {
  const lines: string[] = [];
  for (const concurrency of [16, 64]) {
    const wall = versus.throughput('direct', concurrency);
    const cpuBound = versus.cpuBoundThroughput('direct', concurrency);
    const rounds = versus.requests(concurrency);
    const generator = medianOfRounds(rounds, names.bare, (batch) => batch.cpu.generator);
    const proxy = medianOfRounds(rounds, names.bare, (batch) => batch.cpu.proxy);
    const room = cpuBound.median >= 1.5 && generator * 1.5 <= proxy;
    lines.push(
      `- c=${concurrency}: direct ${formatSpread(cpuBound, 2, '×')} the bare proxy's throughput if CPU-bound, ${formatSpread(wall, 2, '×')} by the wall clock; the generator spent ${generator.toFixed(1)} µs CPU per request beside the bare proxy's ${proxy.toFixed(1)} — ${room ? 'the generator was not the ceiling' : "WARNING: the generator or the upstream is within 1.5× of the bare proxy's limit, so it may be the ceiling and hide differences between proxies"}`,
    );
  }
  return lines;
}

function verdictRow(label: string, value: Spread, target: number, atLeast: boolean, unit: string): string {
  const digits = unit === ' ms' ? 3 : 2;
  return `| ${label} | ${formatSpread(value, digits, unit)} | ${formatRange(value, digits)} | ${verdict(value, target, atLeast)} |`;
}

function targetTable(versus: Versus, names: Names): string[] {
  const lines = ['| target | measured, median [95 % CI] | rounds min–max | verdict |', '|---|---:|---:|---|'];
  const rows: [string, string, string][] = [
    ['issue 11', names.serve, ''],
    ['issue 19, key + limits', names.governed, ''],
    ['issue 19, key + limits + route cache miss', names.cached, ''],
  ];
  for (const [issue, name] of rows) {
    lines.push(
      verdictRow(
        `${issue}: p50 at c=1 over the bare proxy ≤ 0.1 ms`,
        versus.p50Added(name, 1),
        0.1,
        false,
        ' ms',
      ),
    );
    for (const concurrency of [16, 64]) {
      lines.push(
        verdictRow(
          `${issue}: throughput at c=${concurrency} ≥ 0.9× the bare proxy`,
          versus.throughput(name, concurrency),
          0.9,
          true,
          '×',
        ),
      );
    }
  }
  lines.push(
    verdictRow(
      'issue 11: stream time to first token over direct ≤ 1 ms',
      versus.firstTokenAdded(names.serve, 'direct'),
      1,
      false,
      ' ms',
    ),
  );
  return lines;
}

/** One line per target stating the wall clock and the CPU side by side. */
function targetVerdicts(targets: readonly MeasuredTarget[], versus: Versus, names: Names): string[] {
  const lines: string[] = [];
  for (const { name, pid, distinct } of targets) {
    if (name === names.bare || pid === undefined) continue;
    const p50 = versus.p50Added(name, 1);
    const wall = [
      `c=1 p50 ${formatSpread(p50, 3, ' ms')} over bare (≤ 0.1 ms: ${verdict(p50, 0.1, false)})`,
      ...[16, 64].map((concurrency) => {
        const value = versus.throughput(name, concurrency);
        return `c=${concurrency} ${formatSpread(value, 2, '×')} (≥ 0.9×: ${verdict(value, 0.9, true)})`;
      }),
      ...(distinct ? [] : [`streams ${formatSpread(versus.streams(name), 2, '×')}`]),
    ];
    const cpu64 = versus.proxyCpu(name, 64);
    const bound = versus.cpuBoundThroughput(name, 64);
    const cpu = [
      `CPU per request ${formatSpread(cpu64, 2, '×')} the bare proxy's at c=64 (one saturated core reaches 0.9× at ≤ 1.11×)`,
      `all three processes ${formatSpread(bound, 2, '×')} as CPU-bound throughput`,
      ...(distinct ? [] : [`CPU per chunk ${formatSpread(versus.streamCpu(name), 2, '×')}`]),
    ];
    lines.push(`- **${name}** — wall clock: ${wall.join('; ')}. CPU: ${cpu.join('; ')}.`);
  }
  return lines;
}

export function report(options: {
  targets: readonly MeasuredTarget[];
  streamed: readonly MeasuredTarget[];
  names: Names;
  measurements: Measurements;
}): string[] {
  const { targets, streamed, names, measurements } = options;
  const versus = new Versus(measurements, names.bare);
  return [
    ...requestTables(targets, versus, names.bare),
    '',
    ...streamTables(streamed, versus, measurements),
    '',
    'Load generator check:',
    ...generatorCheck(versus, names),
    '',
    ...targetTable(versus, names),
    '',
    'Per target (wall clock, then CPU; a verdict is called only when the 95 % interval is on one side):',
    ...targetVerdicts(targets, versus, names),
  ];
}
