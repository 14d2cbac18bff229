/**
 * Memory benchmark: the resident set of a real head process (started as `byzerllm` starts it, with
 * the gateway of `byzerllm serve` inside it) when idle, after 100,000 gateway requests and after
 * 1,000 deploy/undeploy cycles. Growth is measured against the head after a warm-up (the raw
 * baseline: code compiled, pools and heap sized), and the goal is at most 10 %.
 *
 *   npx tsc -p . && node dist/bench/memory.js [--requests 100000] [--cycles 1000]
 *
 * About two to four minutes on the shared 2-core machine. Every process runs on 127.0.0.1 with a
 * private `$BYZERLLM_HOME` and is stopped at the end.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectLocalHead, readHeadFile } from '../src/cluster/index.js';
import { runLoad } from './gateway/load.js';
import { startJsonProcess, startProcess, stopProcesses } from './gateway/processes.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    cycles: { type: 'string', default: '1000' },
  },
});
const requests = Number(values.requests);
const cycles = Number(values.cycles);
const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = path.join(root, 'dist/src/cli/byzerllm.js');

/** Resident set size of a process, in MiB, from /proc (Linux). */
async function rssMiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  return kilobytes / 1024;
}

/** Lets the head finish what it was doing and collect garbage before RSS is read. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2_000));
}

interface HeadMemory {
  rss: number;
  /** JavaScript heap in use after a full collection (retained objects), MiB. */
  heap: number;
  /** Off-heap memory V8 knows of (Buffers, ArrayBuffers), after the collection, MiB. */
  external: number;
  /** libuv handles alive (sockets, pipes, timers, child processes). */
  handles: number;
}

/**
 * RSS, then the head's heap after a full collection, through the debug-only admin endpoint that
 * exists because the head was started with `--expose-gc`. RSS is read first: the collection itself
 * would shrink it and hide the saw-tooth the RSS figures are taken from.
 */
async function readHeadMemory(head: { pid: number; address: string; token: string }): Promise<HeadMemory> {
  const rss = await rssMiB(head.pid);
  const response = await fetch(`${head.address}/admin/v1/debug/memory`, {
    headers: { authorization: `Bearer ${head.token}` },
  });
  if (!response.ok) throw new Error(`debug/memory answered ${response.status}: ${await response.text()}`);
  const memory = (await response.json()) as {
    heapUsed: number;
    external: number;
    activeHandles: Record<string, number>;
  };
  const mebibyte = 1024 * 1024;
  return {
    rss,
    heap: memory.heapUsed / mebibyte,
    external: memory.external / mebibyte,
    handles: Object.values(memory.activeHandles).reduce((sum, count) => sum + count, 0),
  };
}

function describeMemory(memory: HeadMemory): string {
  return `RSS ${memory.rss.toFixed(1)} MiB, heap after GC ${memory.heap.toFixed(2)} MiB, external ${memory.external.toFixed(2)} MiB, ${memory.handles} handles`;
}

async function main(): Promise<void> {
  const upstream = (
    await startJsonProcess([
      path.join(root, 'dist/test/support/openai-upstream-main.js'),
      '--port',
      '0',
      '--no-record',
    ])
  ).json as { url: string; apiKey: string };
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-memory-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BYZERLLM_HOME: home };
  delete env.BYZERLLM_HEAD_PORT;
  // The head inherits this environment: `--expose-gc` opens its debug-only memory endpoint.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim();
  const cluster = await connectLocalHead({ stateDirectory: home });
  const head = await readHeadFile(home);
  if (!head) throw new Error(`no head.json in ${home} after starting the head`);
  const inferParams = {
    'saas.api_key': upstream.apiKey,
    'saas.model': 'm',
    'saas.base_url': upstream.url,
  };
  const rows: ({ phase: string } & HeadMemory)[] = [];
  try {
    await cluster.deploy({
      name: 'bench_chat',
      pretrainedModelType: 'saas/openai',
      workerConcurrency: 1000,
      inferParams,
    });
    const { line: served } = await startProcess(
      process.execPath,
      [cli, 'serve', '--port', '0'],
      env,
      /OpenAI-compatible API at/,
    );
    const origin = /(http:\/\/[\d.:]+)/.exec(served)![1]!;
    const target = { name: 'byzerllm serve', origin, model: 'bench_chat', headers: {} };
    await settle();
    rows.push({ phase: 'idle (deployed, gateway open, no request yet)', ...(await readHeadMemory(head)) });

    await runLoad(target, 16, 5_000);
    await cycle(cluster, inferParams, 20);
    await settle();
    const baselineMemory = await readHeadMemory(head);
    const baseline = baselineMemory.rss;
    rows.push({ phase: 'baseline: after 5,000 requests and 20 deploy/undeploy cycles', ...baselineMemory });

    const step = Math.max(1, Math.round(requests / 5));
    let failures = 0;
    for (let done = 0; done < requests; done += step) {
      const result = await runLoad(target, 16, Math.min(step, requests - done));
      failures += result.failures;
      process.stderr.write(`${done + step} requests, head RSS ${(await rssMiB(head.pid)).toFixed(1)} MiB\n`);
    }
    if (failures > 0) throw new Error(`${failures} gateway requests failed`);
    await settle();
    rows.push({
      phase: `after ${requests.toLocaleString('en')} gateway requests (c=16)`,
      ...(await readHeadMemory(head)),
    });

    // In fifths with the RSS after each on stderr, as for the requests: a leak grows by the same
    // amount every fifth, an allocator that keeps freed pages grows less and less.
    const fifth = Math.max(1, Math.round(cycles / 5));
    for (let done = 0; done < cycles; done += fifth) {
      await cycle(cluster, inferParams, Math.min(fifth, cycles - done));
      process.stderr.write(`${done + fifth} cycles, head ${describeMemory(await readHeadMemory(head))}\n`);
    }
    await settle();
    rows.push({
      phase: `after ${cycles.toLocaleString('en')} deploy/undeploy cycles`,
      ...(await readHeadMemory(head)),
    });

    const lines = [
      `Node ${process.version}, ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}`,
      '',
      '| head process | RSS vs baseline | RSS MiB | heap after GC vs baseline | heap after GC MiB | external MiB | handles |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (row) =>
          `| ${row.phase} | ${(row.rss / baseline).toFixed(3)} | ${row.rss.toFixed(1)} | ${(row.heap / baselineMemory.heap).toFixed(3)} | ${row.heap.toFixed(2)} | ${row.external.toFixed(2)} | ${row.handles} |`,
      ),
      '',
      `Largest growth over the baseline: ${((Math.max(...rows.map((row) => row.rss)) / baseline - 1) * 100).toFixed(1)} % (goal: at most 10 %).`,
      `Largest growth of the heap after GC: ${((Math.max(...rows.map((row) => row.heap)) / baselineMemory.heap - 1) * 100).toFixed(1)} % (retained objects; RSS above it is native memory or uncollected garbage).`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await new Promise<void>((resolve) => {
      const stop = spawn(process.execPath, [cli, 'stop'], { env, stdio: 'ignore' });
      stop.once('exit', () => resolve());
    });
    await fs.rm(home, { recursive: true, force: true });
  }
}

/** Deploys and undeploys a saas/openai deployment with 2 workers `count` times. */
async function cycle(
  cluster: Awaited<ReturnType<typeof connectLocalHead>>,
  inferParams: Record<string, string>,
  count: number,
): Promise<void> {
  for (let index = 0; index < count; index++) {
    await cluster.deploy({
      name: 'cycle_chat',
      pretrainedModelType: 'saas/openai',
      numWorkers: 2,
      inferParams,
    });
    const { removed } = await cluster.undeploy('cycle_chat');
    if (!removed) throw new Error('undeploy did not find the deployment it just deployed');
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    stopProcesses();
  });
