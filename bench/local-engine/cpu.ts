/**
 * CPU time per generated token in each process of the llama_cpp path, against raw node-llama-cpp:
 * the measure that decides tok/s where the client, the head and the worker share 2 cores with the
 * model itself, and that a loaded machine disturbs least (wall-clock ratios swing with neighbours).
 *
 * One deployment of the tiny `small` GGUF (one worker, `worker_concurrency` = c), and the same
 * prompts through raw (`LlamaCompletion` in this process), the CLI path (admin API, NDJSON) and the
 * gateway (SSE); rounds alternate the three. Reports, per path, CPU µs per token of the client (this
 * process), the head and the worker (`/proc/PID/stat`, 10 ms ticks: many tokens per round), and the
 * stream parts the client received per request.
 *
 *   npx tsc -p . && node dist/bench/local-engine/cpu.js [--concurrency 4] [--requests 64] [--rounds 3]
 *     [--paths raw,cli,gateway]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectLocalHead } from '../../src/cluster/index.js';
import { createTinyLlamaGguf } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import {
  createCliTarget,
  createGatewayTarget,
  createRawTarget,
  loadRawModel,
  processCpuMs,
  runPrompts,
  type Target,
} from './targets.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '4' },
    requests: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '32' },
    /** Only these of raw, cli, gateway (comma-separated): to profile one path with `--cpu-prof`. */
    paths: { type: 'string', default: 'raw,cli,gateway' },
  },
});
const concurrency = Number(values.concurrency);
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const maxTokens = Number(values['max-tokens']);
const ALL_PATHS = ['raw', 'cli', 'gateway'] as const;
type PathName = (typeof ALL_PATHS)[number];
const PATHS = ALL_PATHS.filter((name) => values.paths.split(',').includes(name));

interface Totals {
  tokens: number;
  requests: number;
  parts: number;
  client: number;
  head: number;
  worker: number;
  seconds: number;
}

async function main(): Promise<void> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-cpu-'));
  process.env.BYZERLLM_HOME = home;
  const loadBefore = os.loadavg()[0]!;
  const cluster = await connectLocalHead({ stateDirectory: home });
  const gateway = await cluster.openGateway({ port: 0 });
  const modelPath = path.join(home, 'small.gguf');
  await fs.writeFile(modelPath, createTinyLlamaGguf({}));
  const totals = Object.fromEntries(
    ALL_PATHS.map((name) => [
      name,
      { tokens: 0, requests: 0, parts: 0, client: 0, head: 0, worker: 0, seconds: 0 } as Totals,
    ]),
  ) as Record<PathName, Totals>;
  const raw = await loadRawModel(modelPath);
  try {
    await cluster.deploy({
      name: 'cpu_small',
      pretrainedModelType: 'custom/auto',
      inferBackend: 'llama_cpp',
      modelPath,
      numWorkers: 1,
      workerConcurrency: concurrency,
    });
    const listed = (await cluster.list()).find((deployment) => deployment.name === 'cpu_small');
    const workerPid = listed!.workers[0]!.pid!;
    const headPid = (await cluster.status()).head.pid;
    const prompts = Array.from({ length: requests }, (_, index) => `tell me about the water number ${index}`);
    const parts = { count: 0 };
    const targets: Record<PathName, Target> = {
      raw: await createRawTarget({ raw, concurrency, maxTokens, prompts }),
      cli: createCliTarget(cluster, 'cpu_small', maxTokens, parts),
      gateway: createGatewayTarget(gateway.address, 'cpu_small', maxTokens, parts),
    };
    for (const name of PATHS) await runPrompts(targets[name], prompts.slice(0, 2 * concurrency), concurrency);
    for (let round = 0; round < rounds; round++) {
      for (const name of PATHS) {
        const before = { head: processCpuMs(headPid), worker: processCpuMs(workerPid), parts: parts.count };
        const result = await runPrompts(targets[name], prompts, concurrency);
        const total = totals[name];
        total.tokens += result.tokens;
        total.requests += prompts.length;
        total.client += result.cpuMs;
        total.seconds += result.seconds;
        total.parts += parts.count - before.parts;
        if (name === 'raw') continue;
        total.head += processCpuMs(headPid) - before.head;
        total.worker += processCpuMs(workerPid) - before.worker;
      }
    }
    for (const target of Object.values(targets)) await target.close();
  } finally {
    await raw.model.dispose();
    gateway.close();
    await cluster.shutdown().catch(() => {});
    await cluster.close();
    await fs.rm(home, { recursive: true, force: true, maxRetries: 5 });
  }
  report(totals, loadBefore);
}

function report(totals: Record<PathName, Totals>, loadBefore: number): void {
  const perToken = (ms: number, total: Totals) => ((1000 * ms) / total.tokens).toFixed(0);
  const rawTotal = totals.raw.client / totals.raw.tokens;
  console.log(
    `c=${concurrency}, ${requests} requests x ${maxTokens} tokens x ${rounds} rounds; load ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after\n`,
  );
  console.log(
    '| path | CPU per token ÷ raw | total µs/token | client | head | worker | parts/request | tok/s |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of PATHS) {
    const total = totals[name];
    const all = total.client + total.head + total.worker;
    console.log(
      `| ${name} | ${(all / total.tokens / rawTotal).toFixed(2)} | ${perToken(all, total)} | ${perToken(total.client, total)} | ${perToken(total.head, total)} | ${perToken(total.worker, total)} | ${name === 'raw' ? '-' : (total.parts / total.requests).toFixed(1)} | ${(total.tokens / total.seconds).toFixed(0)} |`,
    );
  }
}

await main();
