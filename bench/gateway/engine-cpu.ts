/**
 * CPU time per OpenAI pass-through call below the gateway's server: `Head.openAIPassThrough(name)
 * .doGenerateOpenAI` (worker pool lease, in-process transport, task dispatch, the OpenAI-compatible
 * engine, the HTTP client, undici) and, beneath it, `HttpClient.postJson` alone, against one
 * loopback upstream in its own process; the baseline is raw undici as the bare proxy calls it
 * (`Pool.request` with 256 connections, `body.json()`). It tells the server's share of `cpu.ts`'s per-request
 * figure from the layers beneath it, and compares two builds of those layers side by side.
 *
 * Each measurement is a child process of one build (this one, or `--compare-root`'s, which needs
 * only the library's usual exports): 2,000 warm-up calls, then `--requests` calls at c=16, its own
 * `process.cpuUsage()` per call (the client's CPU; the upstream's is not counted). Rounds alternate
 * the builds; the median round is reported, the ratios to raw undici and to the compared build first.
 *
 *   npx tsc -p . && node dist/bench/gateway/engine-cpu.js [--requests 10000] [--rounds 7] [--compare-root DIR]
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { median } from '../process-cpu.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '7' },
    'compare-root': { type: 'string' },
    // Internal: run one measurement in this process.
    child: { type: 'string' },
    root: { type: 'string' },
    upstream: { type: 'string' },
  },
});
const CONCURRENCY = 16;
const WARM_UP = 2_000;
const body = () => ({ model: 'bench_chat', messages: [{ role: 'user', content: 'hello there' }] });

type Call = () => Promise<unknown>;

/** The call a child measures: the whole pass-through through a `Head`, or the HTTP client alone. */
async function callOf(kind: string, root: string, upstream: string): Promise<Call> {
  if (kind === 'raw undici') {
    // The bare proxy's upstream side (`bare-proxy.ts`): the yardstick.
    const pool = new Pool(new URL(upstream).origin, { connections: 256 });
    const requestPath = `${new URL(upstream).pathname}/chat/completions`;
    return async () => {
      const answer = await pool.request({
        method: 'POST',
        path: requestPath,
        headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
        body: JSON.stringify(body()),
      });
      return answer.body.json();
    };
  }
  if (kind === 'http') {
    const { HttpClient } = await import(path.join(root, 'dist/src/engines/shared/http-client.js'));
    const client = new HttpClient({
      provider: 'saas/openai',
      baseUrl: upstream,
      headers: { authorization: 'Bearer k' },
      timeoutMs: 60_000,
      maxRetries: 2,
      errorFromResponse: () => new Error('the upstream refused the benchmark request'),
    });
    return () => client.postJson('/chat/completions', body());
  }
  const cluster = await import(path.join(root, 'dist/src/cluster/index.js'));
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-engine-cpu-'));
  const head = new cluster.Head({
    store: new cluster.DeploymentStore(directory),
    transport: cluster.createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  await head.deploy({
    name: 'bench_chat',
    pretrainedModelType: 'saas/openai',
    workerConcurrency: 1000,
    inferParams: { 'saas.api_key': 'k', 'saas.model': 'm', 'saas.base_url': upstream },
  });
  // One signal for every call, as the gateway has one per client connection (here with all 16 calls
  // on it at once, hence the higher listener limit).
  const signal = new AbortController().signal;
  setMaxListeners(CONCURRENCY + 1, signal);
  return () => head.openAIPassThrough('bench_chat').doGenerateOpenAI(body(), { signal });
}

async function runCalls(call: Call, count: number): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started++ < count) await call();
    }),
  );
}

if (values.child) {
  const requests = Number(values.requests);
  const call = await callOf(values.child, values.root!, values.upstream!);
  await runCalls(call, WARM_UP);
  const start = process.cpuUsage();
  await runCalls(call, requests);
  const used = process.cpuUsage(start);
  process.stdout.write(`${JSON.stringify({ micros: (used.user + used.system) / requests })}\n`);
  process.exit(0);
}

const root = fileURLToPath(new URL('../../../', import.meta.url));

function runChild(args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
}

const script = fileURLToPath(import.meta.url);
const upstreamMain = path.join(root, 'dist/test/support/openai-upstream-main.js');
const upstreamProcess = spawn(
  process.execPath,
  [upstreamMain, '--port', '0', '--api-key', 'k', '--no-record'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
try {
  const upstream = await new Promise<string>((resolve) =>
    createInterface({ input: upstreamProcess.stdout }).once('line', (line) => resolve(JSON.parse(line).url)),
  );
  const builds = [{ name: 'this build', root }];
  if (values['compare-root']) builds.push({ name: values['compare-root'], root: values['compare-root'] });
  const results = new Map<string, number[]>();
  const runs = [{ kind: 'raw undici', build: { name: '—', root } }];
  for (const kind of ['pass-through', 'http']) for (const build of builds) runs.push({ kind, build });
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const { kind, build } of round % 2 === 0 ? runs : [...runs].reverse()) {
      const args = [script, '--child', kind, '--root', build.root, '--upstream', upstream];
      const { micros } = await runChild([...args, '--requests', values.requests!]);
      const key = `${kind}\t${build.name}`;
      results.set(key, [...(results.get(key) ?? []), micros as number]);
    }
  }
  console.log(
    `Node ${process.version}, ${os.cpus().length} CPUs, ${values.requests} calls at c=${CONCURRENCY} per round, median of ${values.rounds} rounds\n`,
  );
  console.log(
    '| call | build | CPU vs raw undici | CPU vs compared build | CPU µs per call | rounds (µs, sorted) |',
  );
  console.log('|---|---|---:|---:|---:|---|');
  const raw = median(results.get('raw undici\t—') ?? []);
  for (const [key, micros] of results) {
    const [kind, build] = key.split('\t') as [string, string];
    const baseline = values['compare-root'] ? results.get(`${kind}\t${values['compare-root']}`) : undefined;
    const ratio = baseline ? (median(micros) / median(baseline)).toFixed(2) : '—';
    const sorted = [...micros].sort((a, b) => a - b).map((value) => value.toFixed(1));
    const toRaw = (median(micros) / raw).toFixed(2);
    console.log(
      `| ${kind} | ${build} | ${toRaw} | ${ratio} | ${median(micros).toFixed(1)} | ${sorted.join(', ')} |`,
    );
  }
} finally {
  upstreamProcess.kill('SIGTERM');
}
