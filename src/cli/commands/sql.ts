/**
 * `byzerllm sql`: Byzer-SQL on an embedded DuckDB with deployed models as SQL functions. `-e` runs
 * statements, `-f` a script (with notebook cells), neither opens the interactive shell.
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/index.js';
import {
  type ClusterApi,
  type ClusterConnection,
  createRoutedCluster,
  HeadClient,
  NatsClusterClient,
  type RouteSummary,
} from '../../cluster/index.js';
import { type SqlCluster, SqlSession } from '../../sql/index.js';
import { connect } from '../connect.js';
import { type OutputFormat, progressLine, readOutputFormat, writeResults } from '../sql-output.js';
import { runSqlShell } from '../sql-shell.js';
import { createSqlTrainer } from '../sql-trainer.js';

interface SqlFlags {
  execute?: string;
  file?: string;
  output: string;
  output_file?: string;
  database?: string;
  address?: string;
  ray_address?: string;
}

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description(
      'run Byzer-SQL on an embedded DuckDB, with deployed models as SQL functions\n' +
        '(load/select … as t/save/set/!byzerllm setup/run command as LLM, llm_param, llm_result, llm(), …;\n' +
        'see docs/sql.md). Without -e or -f: an interactive shell (statements end with ";").',
    )
    .option('-e, --execute <sql>', 'run these statements and print the last result of each cell')
    .option(
      '-f, --file <script.sql>',
      'run a script; cells start with --% header lines (--%chat, --%model=NAME, …)',
    )
    .option('--output <format>', 'table, json, csv or parquet', 'table')
    .option('--output_file <path>', 'write the output to a file instead of stdout')
    .option('--database <file.duckdb>', 'keep tables in this DuckDB file (default: in memory)')
    .option(
      '--address <address>',
      'the cluster whose models are called: auto (the local head) or http://HOST:PORT, nats://…',
    )
    .option('--ray_address <address>', 'same as --address (kept for Byzer-LLM scripts)')
    .action(async (flags: SqlFlags) => {
      const format = readOutputFormat(flags.output);
      if (flags.execute !== undefined && flags.file !== undefined) {
        throw new InvalidArgumentError('give either -e SQL or -f FILE, not both');
      }
      const script = flags.file !== undefined ? await readScript(flags.file) : flags.execute;
      const cluster = lazyCluster(flags);
      const session = new SqlSession({
        cluster,
        trainer: createSqlTrainer(),
        ...(flags.database ? { database: flags.database } : {}),
      });
      try {
        if (script === undefined) {
          await runSqlShell(session, format === 'parquet' ? 'table' : format);
          return;
        }
        await runScript(session, script, format, flags.output_file);
      } finally {
        await session.close();
        await cluster.close();
      }
    });
}

/**
 * The cluster, connected on the first model call: SQL that calls no model (or an empty shell
 * session) never starts or reaches a head.
 */
function lazyCluster(flags: SqlFlags): SqlCluster & { close(): Promise<void> } {
  let connection: Promise<RoutedConnection> | undefined;
  const connected = () => {
    connection ??= connect(flags).then(withRoutes);
    return connection;
  };
  return {
    deploy: async (spec) => (await connected()).cluster.deploy(spec),
    list: async () => (await connected()).cluster.list(),
    meta: async (name) => (await connected()).cluster.meta(name),
    routes: { list: async () => (await connected()).routes() },
    call: (async (name: string, kind: 'chat' | 'embedding', request: never, options?: object) =>
      (await connected()).cluster.call(name, kind, request, options)) as SqlCluster['call'],
    close: async () => {
      if (connection) await (await connection).close();
    },
  };
}

interface RoutedConnection {
  /** Calls a route by name wherever a deployment name goes. */
  cluster: ClusterApi;
  routes(): Promise<RouteSummary[]>;
  close(): Promise<void>;
}

/**
 * A head (local or HTTP) resolves routes by name itself; over NATS the command mirrors the head's
 * routes and cooldowns as `byzerllm serve` does, and calls them through a routed cluster.
 */
async function withRoutes(cluster: ClusterConnection): Promise<RoutedConnection> {
  if (cluster instanceof HeadClient)
    return { cluster, routes: () => cluster.routes.list(), close: () => cluster.close() };
  if (!(cluster instanceof NatsClusterClient))
    return { cluster, routes: async () => [], close: () => cluster.close() };
  const shared = await cluster.openGovernance((line) => process.stderr.write(`byzerllm sql: ${line}\n`));
  const routed = createRoutedCluster(cluster, shared.governance);
  return {
    cluster: routed,
    routes: () => routed.routes.list(),
    close: async () => {
      shared.close();
      await cluster.close();
    },
  };
}

async function readScript(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(
      `cannot read -f ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

/** Runs a whole script, printing the last result of every cell; Ctrl+C cancels the model calls. */
async function runScript(session: SqlSession, script: string, format: OutputFormat, outputFile?: string) {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  const progress = progressLine(process.stderr);
  try {
    const results = await session.execute(script, { signal: abort.signal, onProgress: progress.update });
    progress.clear();
    const lastOfEachCell = results.filter(
      (result, index) => result.columns.length > 0 && results[index + 1]?.cell !== result.cell,
    );
    await writeResults(session, lastOfEachCell, format, outputFile);
  } finally {
    progress.clear();
    process.off('SIGINT', onInterrupt);
  }
}
