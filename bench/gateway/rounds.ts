/**
 * Many short rounds, every target once per round in a new random order, each batch's CPU time read
 * from every process that took part. A ratio to the bare proxy is then taken within each round (two
 * batches seconds apart, under the same load) and the rounds' ratios are summarised — instead of a
 * ratio of medians taken over rounds minutes apart, which on two shared cores flips with the load.
 */
import { cpuSnapshot } from './processes.js';
import { shuffled } from './statistics.js';
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
 * Per-round figures of `name` against `baseline`: `pick` of both batches of the same round, combined
 * by `compare` (a ratio, a difference). Rounds where either has no figure give NaN (left out later).
 */
export function perRound<Result>(
  rounds: Rounds<Result>,
  name: string,
  baseline: string,
  compare: (target: Batch<Result>, base: Batch<Result>) => number,
): number[] {
  const own = rounds.get(name) ?? [];
  const base = rounds.get(baseline) ?? [];
  return own.map((batch, index) => (base[index] ? compare(batch, base[index]) : Number.NaN));
}

/** One figure of each round of `name` alone (an absolute number). */
export function eachRound<Result>(
  rounds: Rounds<Result>,
  name: string,
  pick: (batch: Batch<Result>) => number,
): number[] {
  return (rounds.get(name) ?? []).map(pick);
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
