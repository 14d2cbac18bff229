/**
 * Many short rounds, every target once per round in a new random order, each batch's CPU time read
 * from every process that took part. A ratio to the bare proxy is then taken within each round (two
 * batches seconds apart, under the same load) and the rounds' ratios are summarised — instead of a
 * ratio of medians taken over rounds minutes apart, which on two shared cores flips with the load.
 */
import { cpuSnapshot } from './processes.js';
import { type Spread, shuffled, spread } from './statistics.js';
import type { Target } from './load.js';

/** A target and the process that serves it (none for `direct`: the upstream answers itself). */
export interface MeasuredTarget extends Target {
  pid?: number;
}

/** CPU microseconds per operation (request or chunk) of each process in one batch. */
export interface CpuPerOperation {
  /** This process: the load generator (and the few reads of /proc around the batch). */
  generator: number;
  upstream: number;
  /** The process under test; 0 for `direct`. */
  proxy: number;
}

export interface Batch<Result> {
  result: Result;
  cpu: CpuPerOperation;
}

/** One batch's figures per target per round: `rounds.get(name)[round]`. */
export type Rounds<Result> = Map<string, Batch<Result>[]>;

/**
 * Runs `rounds` rounds; in each, every target once, in a new random order. `batch` runs one target's
 * batch and says how many operations it did (requests, or chunks for streams), which the CPU time of
 * the generator, the upstream and the target's process is divided by.
 */
export async function inRounds<Result>(options: {
  targets: readonly MeasuredTarget[];
  rounds: number;
  upstreamPid: number;
  batch: (target: MeasuredTarget) => Promise<{ result: Result; operations: number }>;
}): Promise<Rounds<Result>> {
  const measured: Rounds<Result> = new Map(options.targets.map((target) => [target.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const target of shuffled(options.targets)) {
      const pids = [process.pid, options.upstreamPid, target.pid];
      const before = await cpuSnapshot(pids);
      const { result, operations } = await options.batch(target);
      const after = await cpuSnapshot(pids);
      const perOperation = (index: number) =>
        operations > 0 ? ((after[index]! - before[index]!) / operations) * 1e6 : Number.NaN;
      measured.get(target.name)!.push({
        result,
        cpu: { generator: perOperation(0), upstream: perOperation(1), proxy: perOperation(2) },
      });
    }
  }
  return measured;
}

/** CPU per operation of the three processes together: what a saturated machine has to pay. */
export function systemCpu(cpu: CpuPerOperation): number {
  return cpu.generator + cpu.upstream + cpu.proxy;
}

/**
 * Per-round figures of `name` against `baseline`, summarised: `compare` of both batches of the same
 * round (a ratio, a difference). Rounds where either has no figure give NaN and are left out.
 */
export function versusBaseline<Result>(
  rounds: Rounds<Result>,
  name: string,
  baseline: string,
  compare: (target: Batch<Result>, base: Batch<Result>) => number,
): Spread {
  const own = rounds.get(name) ?? [];
  const base = rounds.get(baseline) ?? [];
  return spread(own.map((batch, index) => (base[index] ? compare(batch, base[index]) : Number.NaN)));
}

/** `value / base`, NaN where the base is no figure. */
export function ratio(value: number, base: number): number {
  return base > 0 ? value / base : Number.NaN;
}

/** The process under test's CPU per operation over the baseline's. */
export const proxyCpuRatio = (target: Batch<unknown>, base: Batch<unknown>) =>
  ratio(target.cpu.proxy, base.cpu.proxy);

/** Failed requests or streams of `name` over every round. */
export function failuresOfRounds<Result extends { failures: number }>(
  rounds: Rounds<Result>,
  name: string,
): number {
  return (rounds.get(name) ?? []).reduce((sum, batch) => sum + batch.result.failures, 0);
}

/** The median over the rounds of one absolute figure of `name`. */
export function medianOfRounds<Result>(
  rounds: Rounds<Result>,
  name: string,
  pick: (batch: Batch<Result>) => number,
): number {
  return spread((rounds.get(name) ?? []).map(pick)).median;
}

/**
 * One client per target (a keep-alive pool or `RawClient`), opened and warmed before the rounds so
 * no timed batch sets up connections; `close` ends them all.
 */
export async function openClients<Client extends { close: () => unknown }>(
  targets: readonly MeasuredTarget[],
  open: (target: MeasuredTarget) => Client,
  warm: (target: MeasuredTarget, client: Client) => Promise<unknown>,
): Promise<{ of: (target: MeasuredTarget) => Client; close: () => Promise<void> }> {
  const clients = new Map<string, Client>();
  for (const target of targets) {
    const client = open(target);
    clients.set(target.name, client);
    await warm(target, client);
  }
  return {
    of: (target) => clients.get(target.name)!,
    close: async () => {
      for (const client of clients.values()) await client.close();
    },
  };
}
