/**
 * Gateway benchmark: one loopback OpenAI upstream, reached directly, through a bare pass-through
 * proxy (the yardstick), through `byzerllm serve` and through the Portkey gateway, in one run on this
 * machine. Prints, ratios to the baseline first and absolute numbers second: requests/s, p50 and p99
 * at concurrency 1, 16 and 64; time to first token of streams; streaming throughput (chunks/s of
 * 1,000-chunk streams at c=16); and the gateway targets of issue 11.
 *
 *   npx tsc -p . && node dist/bench/gateway/run.js [--scale 1]
 *
 * `--scale` multiplies the request counts (default 1: about a minute on 2 cores). Every process runs
 * on 127.0.0.1 and is stopped at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type LoadResult,
  runLoad,
  type StreamThroughputResult,
  streamThroughput,
  type Target,
  timeToFirstToken,
} from './load.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
const scale = Number(values.scale);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcess[] = [];

/** Starts a process and resolves with the first stdout line that matches. */
function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (ready.test(line)) resolve({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${errors}`)));
  });
}

/** Runs a CLI command to its end; resolves with its stdout. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${args.join(' ')}: ${errors}`)),
    );
  });
}

/**
 * `byzerllm serve` with governance on (issue 19), on its own head (a key exists there, so its
 * gateway refuses requests without one): `bench_chat` priced and limited, and a virtual key with
 * rpm, tpm and a budget — all too high to refuse anything — sent with every request. The second
 * target adds a route with a response cache and asks something new each time, so every request
 * takes the cache's miss path: key, lookup, route, store (evicting the oldest once full).
 */
async function startGovernedServe(
  cli: string,
  env: NodeJS.ProcessEnv,
  deployArgs: string[],
): Promise<{ target: Target; cached: Target; home: string; env: NodeJS.ProcessEnv }> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-governed-'));
  const governedEnv: NodeJS.ProcessEnv = { ...env, BYZERLLM_HOME: home };
  await run([cli, ...deployArgs, 'gateway.price_input=0.15', 'gateway.price_output=0.6'], governedEnv);
  const huge = '1000000000';
  await run([cli, 'limits', 'set', 'bench_chat', '--rpm', huge, '--tpm', huge], governedEnv);
  const key = (
    await run([cli, 'keys', 'create', '--rpm', huge, '--tpm', huge, '--budget', '9000'], governedEnv)
  ).trim();
  const routeFile = path.join(home, 'cached.yaml');
  await fs.writeFile(
    routeFile,
    'strategy: single\ncache: { ttl_seconds: 300, max_entries: 1000 }\ntargets: [{ deployment: bench_chat }]\n',
  );
  await run([cli, 'route', 'set', 'bench_cached', '--file', routeFile], governedEnv);
  const served = await startProcess(
    process.execPath,
    [cli, 'serve', '--port', '0'],
    governedEnv,
    /OpenAI-compatible API at/,
  );
  const origin = /(http:\/\/[\d.:]+)/.exec(served.line)![1]!;
  const headers = { authorization: `Bearer ${key}` };
  return {
    target: { name: 'byzerllm serve + key + limits', origin, model: 'bench_chat', headers },
    cached: {
      name: 'byzerllm serve + key + limits + route cache miss',
      origin,
      model: 'bench_cached',
      headers,
      distinct: true,
    },
    home,
    env: governedEnv,
  };
}

async function main(): Promise<void> {
  const env = { ...process.env };
  const upstreamLine = await startProcess(
    process.execPath,
    [path.join(root, 'dist/test/support/openai-upstream-main.js'), '--port', '0', '--no-record'],
    env,
    /^\{/,
  );
  const upstream = JSON.parse(upstreamLine.line) as { url: string; port: number; apiKey: string };
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
  const authorization = { authorization: `Bearer ${upstream.apiKey}` };

  const bare = JSON.parse(
    (
      await startProcess(
        process.execPath,
        [path.join(root, 'dist/bench/gateway/bare-proxy.js'), '--upstream', upstreamOrigin],
        env,
        /^\{/,
      )
    ).line,
  ) as { url: string };

  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-'));
  const byzerEnv: NodeJS.ProcessEnv = { ...env, BYZERLLM_HOME: home };
  delete byzerEnv.BYZERLLM_HEAD_PORT;
  const cli = path.join(root, 'dist/src/cli/byzerllm.js');
  const deployArgs = [
    'deploy',
    '--model',
    'bench_chat',
    '--pretrained_model_type',
    'saas/openai',
    '--worker_concurrency',
    '1000',
    '--infer_params',
    `saas.api_key=${upstream.apiKey}`,
    'saas.model=m',
    `saas.base_url=${upstream.url}`,
  ];
  await run([cli, ...deployArgs], byzerEnv);
  const governed = await startGovernedServe(cli, env, deployArgs);
  const served = await startProcess(
    process.execPath,
    [cli, 'serve', '--port', '0'],
    byzerEnv,
    /OpenAI-compatible API at/,
  );
  const serveOrigin = /(http:\/\/[\d.:]+)/.exec(served.line)![1]!;

  const portkeyPort = 20_000 + Math.floor(Math.random() * 20_000);
  let portkey: Target | undefined;
  try {
    await startProcess(
      process.execPath,
      [
        path.join(root, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
        '--headless',
        `--port=${portkeyPort}`,
      ],
      env,
      /Ready for connections/,
    );
    portkey = {
      name: 'Portkey gateway',
      origin: `http://127.0.0.1:${portkeyPort}`,
      model: 'm',
      headers: { ...authorization, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream.url },
    };
  } catch (error) {
    process.stderr.write(`Portkey gateway did not start: ${(error as Error).message}\n`);
  }

  const targets: Target[] = [
    { name: 'direct', origin: upstreamOrigin, model: 'm', headers: authorization },
    { name: 'bare proxy', origin: bare.url, model: 'm', headers: authorization },
    { name: 'byzerllm serve', origin: serveOrigin, model: 'bench_chat', headers: {} },
    governed.target,
    governed.cached,
    ...(portkey ? [portkey] : []),
  ];

  const counts: Record<number, number> = { 1: 1500, 16: 3000, 64: 4000 };
  const rounds = 3;
  const results = new Map<string, LoadResult[]>();
  // Warm up every target until its JIT has settled: the longer a request path, the more it needs.
  for (const target of targets) {
    await runLoad(target, 16, Math.round(1500 * scale));
    await runLoad(target, 1, Math.round(500 * scale));
  }
  for (const concurrency of [1, 16, 64]) {
    // Rounds alternate the targets so drift on the shared cores hits all of them alike.
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        const count = Math.round(((counts[concurrency] ?? 1000) * scale) / rounds);
        const result = await runLoad(target, concurrency, count);
        const key = `${target.name}@${concurrency}`;
        results.set(key, [...(results.get(key) ?? []), result]);
      }
    }
  }

  const lines: string[] = [];
  lines.push(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), scale ${scale}`,
  );
  lines.push('');
  lines.push('| target | c | req/s vs bare | p50 - bare p50 (ms) | req/s | p50 ms | p99 ms | failures |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  const merged = (name: string, concurrency: number): LoadResult => {
    const list = results.get(`${name}@${concurrency}`) ?? [];
    // The median round of each measure: one noisy round on shared cores does not decide it.
    const median = (pick: (result: LoadResult) => number) =>
      list.map(pick).sort((left, right) => left - right)[Math.floor(list.length / 2)] ?? Number.NaN;
    return {
      requestsPerSecond: median((result) => result.requestsPerSecond),
      p50Ms: median((result) => result.p50Ms),
      p99Ms: median((result) => result.p99Ms),
      failures: list.reduce((sum, result) => sum + result.failures, 0),
    };
  };
  for (const concurrency of [1, 16, 64]) {
    const base = merged('bare proxy', concurrency);
    for (const target of targets) {
      const result = merged(target.name, concurrency);
      lines.push(
        `| ${target.name} | ${concurrency} | ${(result.requestsPerSecond / base.requestsPerSecond).toFixed(2)} | ${(result.p50Ms - base.p50Ms).toFixed(3)} | ${result.requestsPerSecond.toFixed(0)} | ${result.p50Ms.toFixed(3)} | ${result.p99Ms.toFixed(3)} | ${result.failures} |`,
      );
    }
  }

  lines.push('');
  lines.push(
    '| target | time to first token p50 - direct (ms) | stream time to first token p50 ms | failures |',
  );
  lines.push('|---|---:|---:|---:|');
  const ttftCount = Math.round(400 * scale);
  const ttft = new Map<string, Awaited<ReturnType<typeof timeToFirstToken>>>();
  // Streams send one fixed body: on a cached route's row they would be cache hits (a replay in one
  // text chunk), not that row's miss path, so such rows have no stream figures.
  const streamed = targets.filter((target) => !target.distinct);
  for (const target of streamed) await timeToFirstToken(target, Math.min(50, ttftCount));
  for (const target of streamed) ttft.set(target.name, await timeToFirstToken(target, ttftCount));
  const direct = ttft.get('direct')!;
  for (const target of streamed) {
    const result = ttft.get(target.name)!;
    lines.push(
      `| ${target.name} | ${(result.p50Ms - direct.p50Ms).toFixed(3)} | ${result.p50Ms.toFixed(3)} | ${result.failures}${result.error ? ` (${result.error})` : ''} |`,
    );
  }

  const streaming = await measureStreaming(streamed, scale);
  lines.push('');
  lines.push('| target | chunks/s vs bare (1,000-chunk streams, c=16) | chunks/s | streams/s | failures |');
  lines.push('|---|---:|---:|---:|---:|');
  const bareStreaming = streaming.get('bare proxy')!;
  for (const target of streamed) {
    const result = streaming.get(target.name)!;
    lines.push(
      `| ${target.name} | ${(result.chunksPerSecond / bareStreaming.chunksPerSecond).toFixed(2)} | ${result.chunksPerSecond.toFixed(0)} | ${result.streamsPerSecond.toFixed(1)} | ${result.failures}${result.error ? ` (${result.error.slice(0, 100)})` : ''} |`,
    );
  }

  const serveAt1 = merged('byzerllm serve', 1);
  const bareAt1 = merged('bare proxy', 1);
  const serveAt64 = merged('byzerllm serve', 64);
  const bareAt64 = merged('bare proxy', 64);
  const ttftDelta = ttft.get('byzerllm serve')!.p50Ms - direct.p50Ms;
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  lines.push('');
  lines.push('| issue 11 target | measured | |');
  lines.push('|---|---:|---|');
  const p50Delta = serveAt1.p50Ms - bareAt1.p50Ms;
  const throughputRatio = serveAt64.requestsPerSecond / bareAt64.requestsPerSecond;
  lines.push(
    `| p50 at c=1 over the bare proxy ≤ 0.1 ms | ${p50Delta.toFixed(3)} ms | ${verdict(p50Delta <= 0.1)} |`,
  );
  lines.push(
    `| throughput at c=64 ≥ 0.9× the bare proxy | ${throughputRatio.toFixed(2)}× | ${verdict(throughputRatio >= 0.9)} |`,
  );
  lines.push(
    `| stream time to first token over direct ≤ 1 ms | ${ttftDelta.toFixed(3)} ms | ${verdict(ttftDelta <= 1)} |`,
  );
  const governedAt1 = merged(governed.target.name, 1);
  const governedAt16 = merged(governed.target.name, 16);
  const governedAt64 = merged(governed.target.name, 64);
  const bareAt16 = merged('bare proxy', 16);
  const governedDelta = governedAt1.p50Ms - bareAt1.p50Ms;
  lines.push(
    `| issue 19, key + limits: p50 at c=1 over the bare proxy ≤ 0.1 ms | ${governedDelta.toFixed(3)} ms | ${verdict(governedDelta <= 0.1)} |`,
  );
  for (const [concurrency, result, base] of [
    [16, governedAt16, bareAt16],
    [64, governedAt64, bareAt64],
  ] as const) {
    const ratio = result.requestsPerSecond / base.requestsPerSecond;
    lines.push(
      `| issue 19, key + limits: throughput at c=${concurrency} ≥ 0.9× the bare proxy | ${ratio.toFixed(2)}× | ${verdict(ratio >= 0.9)} |`,
    );
  }
  const cachedAt1 = merged(governed.cached.name, 1);
  const cachedDelta = cachedAt1.p50Ms - bareAt1.p50Ms;
  lines.push(
    `| issue 19, key + limits + route cache miss: p50 at c=1 over the bare proxy ≤ 0.1 ms | ${cachedDelta.toFixed(3)} ms | ${verdict(cachedDelta <= 0.1)} |`,
  );
  for (const [concurrency, base] of [
    [16, bareAt16],
    [64, bareAt64],
  ] as const) {
    const ratio = merged(governed.cached.name, concurrency).requestsPerSecond / base.requestsPerSecond;
    lines.push(
      `| issue 19, key + limits + route cache miss: throughput at c=${concurrency} ≥ 0.9× the bare proxy | ${ratio.toFixed(2)}× | ${verdict(ratio >= 0.9)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  await run([cli, 'stop'], byzerEnv).catch(() => {});
  await run([cli, 'stop'], governed.env).catch(() => {});
  await fs.rm(home, { recursive: true, force: true });
  await fs.rm(governed.home, { recursive: true, force: true });
}

/**
 * Chunks/s of 1,000-chunk streams at c=16: three rounds alternating the targets, the median round of
 * each. A warm-up round first, as for the request rates.
 */
async function measureStreaming(
  targets: Target[],
  scale: number,
): Promise<Map<string, StreamThroughputResult>> {
  const options = { concurrency: 16, count: Math.max(16, Math.round(48 * scale)), words: 1000 };
  const rounds = new Map<string, StreamThroughputResult[]>();
  for (const target of targets) await streamThroughput(target, { ...options, count: 16 });
  for (let round = 0; round < 3; round++) {
    for (const target of targets) {
      rounds.set(target.name, [...(rounds.get(target.name) ?? []), await streamThroughput(target, options)]);
    }
  }
  const medians = new Map<string, StreamThroughputResult>();
  for (const [name, list] of rounds) {
    const sorted = [...list].sort((left, right) => left.chunksPerSecond - right.chunksPerSecond);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const failures = list.reduce((sum, result) => sum + result.failures, 0);
    medians.set(name, { ...median, failures });
  }
  return medians;
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
