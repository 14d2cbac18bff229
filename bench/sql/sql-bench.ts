/**
 * bench/sql: rows/s of a model function over a table, against the ideal of its deployment.
 *
 * A loopback OpenAI upstream (its own process) answers every chat request after 50 ms; one
 * `saas/openai` deployment of capacity C (num_workers × worker_concurrency, default 4 × 8 = 32) on an
 * in-process head. Measured, in one run:
 * - raw:  the same N distinct requests sent straight to `Head.call` by C concurrent callers (the
 *         best the deployment does without SQL: the baseline);
 * - sql:  `select m(llm_param(map('instruction', text))) from t` over N rows of distinct text, through
 *         `SqlSession` on DuckDB.
 * Prints ratios to raw first, then to the ideal C / 50 ms, then absolute numbers.
 *
 * Run: npx tsc -p . && node dist/bench/sql/sql-bench.js [--rows 10000] [--workers 4] [--concurrency 8]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createInProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import { SqlSession } from '../../src/sql/index.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const ROWS = argument('rows', 10_000);
const WORKERS = argument('workers', 4);
const CONCURRENCY = argument('concurrency', 8);
const DELAY_MS = 50;
const CAPACITY = WORKERS * CONCURRENCY;
const IDEAL = CAPACITY / (DELAY_MS / 1000);

async function startUpstream(): Promise<{ url: string; apiKey: string; stop(): void }> {
  const entry = fileURLToPath(new URL('../../test/support/openai-upstream-main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [entry, '--port', '0', '--delay-ms', String(DELAY_MS), '--no-record'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const first = await new Promise<string>((resolve) =>
    readline.createInterface({ input: child.stdout }).once('line', resolve),
  );
  const { url, apiKey } = JSON.parse(first) as { url: string; apiKey: string };
  return { url, apiKey, stop: () => child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-sql-bench-'));
  const head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), gpus: [] },
  });
  try {
    await head.deploy({
      name: 'm',
      pretrainedModelType: 'saas/openai',
      numWorkers: WORKERS,
      workerConcurrency: CONCURRENCY,
      inferParams: { 'saas.api_key': upstream.apiKey, 'saas.base_url': upstream.url, 'saas.model': 'bench' },
    });
    // Warm up connections and JIT on both paths.
    await Promise.all(
      Array.from({ length: CAPACITY * 2 }, (_, index) =>
        head.call('m', 'chat', { messages: [{ role: 'user', content: `warm ${index}` }] }),
      ),
    );

    let next = 0;
    const rawStarted = performance.now();
    await Promise.all(
      Array.from({ length: CAPACITY }, async () => {
        while (next < ROWS) {
          const index = next++;
          await head.call('m', 'chat', { messages: [{ role: 'user', content: `raw row ${index}` }] });
        }
      }),
    );
    const rawSeconds = (performance.now() - rawStarted) / 1000;

    const session = new SqlSession({ cluster: head });
    await session.run(
      `set max_rows='${ROWS}'; create table t as select 'sql row ' || i as text from range(${ROWS}) r(i);`,
    );
    const sqlStarted = performance.now();
    const rows = await session.run(
      `select count(*) as answered from (select m(llm_param(map('instruction', text))) as response from t) where llm_result(response) is not null`,
    );
    const sqlSeconds = (performance.now() - sqlStarted) / 1000;
    await session.close();
    if (rows[0]?.answered !== ROWS) throw new Error(`expected ${ROWS} answers, got ${JSON.stringify(rows)}`);

    const rawRate = ROWS / rawSeconds;
    const sqlRate = ROWS / sqlSeconds;
    process.stdout.write(
      [
        `Node ${process.version}, ${os.availableParallelism()} CPUs, load ${os
          .loadavg()
          .map((value) => value.toFixed(2))
          .join(' ')}`,
        `rows ${ROWS}, capacity C = ${WORKERS} × ${CONCURRENCY} = ${CAPACITY}, upstream latency ${DELAY_MS} ms, ideal ${IDEAL} rows/s`,
        '',
        '| path | rows/s vs raw | rows/s vs ideal | rows/s | seconds |',
        '|---|---:|---:|---:|---:|',
        `| raw Head.call, ${CAPACITY} callers | 1.00 | ${(rawRate / IDEAL).toFixed(2)} | ${rawRate.toFixed(0)} | ${rawSeconds.toFixed(2)} |`,
        `| SQL model function | ${(sqlRate / rawRate).toFixed(2)} | ${(sqlRate / IDEAL).toFixed(2)} | ${sqlRate.toFixed(0)} | ${sqlSeconds.toFixed(2)} |`,
        '',
      ].join('\n'),
    );
  } finally {
    await head.close();
    upstream.stop();
    await fs.rm(directory, { recursive: true, force: true });
  }
}

await main();
