/**
 * Gateway benchmark: one loopback OpenAI upstream, reached directly, through a bare pass-through
 * proxy (the yardstick), through `byzerllm serve` (plain, and with governance on) and through the
 * Portkey gateway, in one run on this machine. Prints, ratios to the baseline first and absolute
 * numbers second: requests/s and p50 at concurrency 1, 16 and 64; time to first token of streams;
 * streaming throughput (chunks/s of 1,000-chunk streams at c=16); each process's CPU time per request
 * and per chunk; and the gateway targets of issues 11 and 19 with a verdict that says when the run
 * cannot decide.
 *
 *   npx tsc -p . && node dist/bench/gateway/run.js [--scale 1] [--rounds 15] [--skip-portkey]
 *
 * Method (two shared cores: the generator, the upstream and the proxy compete for them, and other
 * work comes and goes): many short rounds; in each, every target runs one time-boxed batch, in a new
 * random order. Every ratio to the bare proxy is taken within a round, and a row reports the median
 * of its rounds' ratios with a 95 % interval of that median and the rounds' min–max. `--scale`
 * multiplies the batches' length (default 1: 0.3 s per batch, about 2–3 minutes in all); `--rounds`
 * sets their number. Every process runs on 127.0.0.1 and is stopped at the end.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import {
  type LoadResult,
  runLoad,
  type StreamThroughputResult,
  streamThroughput,
  timeToFirstToken,
} from './load.js';
import { loadNote, stopProcesses, uptime } from './processes.js';
import { type Measurements, report } from './run-report.js';
import { startRunTargets } from './run-targets.js';
import { inRounds, type MeasuredTarget, openClients, type Rounds } from './rounds.js';
import { RawClient } from './raw-client.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '15' },
    'skip-portkey': { type: 'boolean', default: false },
  },
});
const scale = Number(values.scale);
const roundCount = Number(values.rounds);
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Length of one target's batch in a round. */
const batchSeconds = 0.3 * scale;

async function measureRequests(
  targets: readonly MeasuredTarget[],
  upstreamPid: number,
): Promise<Map<number, Rounds<LoadResult>>> {
  const byConcurrency = new Map<number, Rounds<LoadResult>>();
  for (const concurrency of [1, 16, 64]) {
    const clients = await openClients(
      targets,
      (target) => new RawClient(target.origin),
      (target, raw) => runLoad(target, concurrency, concurrency * 4, { raw }),
    );
    const rounds = await inRounds({
      targets,
      rounds: roundCount,
      upstreamPid,
      batch: async (target) => {
        const result = await runLoad(target, concurrency, Number.POSITIVE_INFINITY, {
          raw: clients.of(target),
          seconds: batchSeconds,
        });
        return { result, operations: result.requests };
      },
    });
    await clients.close();
    byConcurrency.set(concurrency, rounds);
  }
  return byConcurrency;
}

type TimeToFirstToken = Awaited<ReturnType<typeof timeToFirstToken>>;

/**
 * Streams one at a time, `perRound` per target per round: time to the first generated text (undici,
 * which hands over the body as it arrives; the generator's CPU matters little one at a time).
 */
async function measureTimeToFirstToken(
  targets: readonly MeasuredTarget[],
  upstreamPid: number,
): Promise<Rounds<TimeToFirstToken>> {
  const perRound = Math.max(5, Math.round(20 * scale));
  const pools = await openClients(
    targets,
    (target) => new Pool(target.origin, { connections: 1 }),
    (target, pool) => timeToFirstToken(target, 20, { pool }),
  );
  const rounds = await inRounds({
    targets,
    rounds: roundCount,
    upstreamPid,
    batch: async (target) => ({
      result: await timeToFirstToken(target, perRound, { pool: pools.of(target) }),
      operations: perRound,
    }),
  });
  await pools.close();
  return rounds;
}

/** 1,000-chunk streams at c=16, time-boxed batches; CPU per chunk received. */
async function measureStreaming(
  targets: readonly MeasuredTarget[],
  upstreamPid: number,
): Promise<Rounds<StreamThroughputResult>> {
  const options = { concurrency: 16, words: 1000 };
  const clients = await openClients(
    targets,
    (target) => new RawClient(target.origin),
    (target, raw) => streamThroughput(target, { ...options, count: 16, raw }),
  );
  const rounds = await inRounds({
    targets,
    rounds: roundCount,
    upstreamPid,
    batch: async (target) => {
      const result = await streamThroughput(target, {
        ...options,
        count: Number.POSITIVE_INFINITY,
        raw: clients.of(target),
        seconds: batchSeconds,
      });
      return { result, operations: result.chunks };
    },
  });
  await clients.close();
  return rounds;
}

async function main(): Promise<void> {
  const started = uptime();
  const run = await startRunTargets(root, !values['skip-portkey']);
  try {
    const { targets, upstreamPid } = run;
    // Warm up every target until its JIT has settled: the longer a request path, the more it needs.
    for (const target of targets) {
      await runLoad(target, 16, Math.round(1500 * scale));
      await runLoad(target, 1, Math.round(500 * scale));
    }
    const requests = await measureRequests(targets, upstreamPid);
    // Streams send one fixed body: on a cached route's row they would be cache hits (a replay in one
    // text chunk), not that row's miss path, so such rows have no stream figures.
    const streamed = targets.filter((target) => !target.distinct);
    const firstToken = await measureTimeToFirstToken(streamed, upstreamPid);
    const streaming = await measureStreaming(streamed, upstreamPid);
    const measurements: Measurements = { requests, firstToken, streaming };
    const header = [
      started,
      `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), scale ${scale}: ` +
        `${roundCount} rounds of ${batchSeconds.toFixed(2)} s batches per concurrency, targets in a new random order each round`,
    ];
    const lines = [
      ...header,
      '',
      ...report({ targets, streamed, names: run.names, measurements }),
      uptime(),
      ...loadNote(),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await run.stop();
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(stopProcesses);
