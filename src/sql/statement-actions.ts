/**
 * The effects of Byzer's non-query statements on DuckDB and the cluster.
 */
import fs from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SqlTrainer } from './sql-trainer.js';
import { InvalidArgumentError, NotFoundError } from '../core/index.js';
import {
  copyStatement,
  identifier,
  loadQuery,
  readerFor,
  runLlmCommand,
  type SetupDefaults,
} from './byzer-commands.js';
import type { ByzerStatement } from './byzer-statement.js';
import type { ModelRegistry } from './model-registry.js';
import { jsRow } from './result-values.js';
import type { SqlCluster } from './sql-cluster.js';

/** `load format.\`path\` as t`: a view over the file, so later statements read it lazily. */
export async function runLoad(
  connection: DuckDBConnection,
  statement: Extract<ByzerStatement, { kind: 'load' }>,
  dropTemporary: () => Promise<void>,
): Promise<void> {
  await fs.access(statement.path).catch(() => {
    throw new NotFoundError(`load ${statement.format}: no file ${JSON.stringify(statement.path)}`);
  });
  const query = loadQuery(statement.format, statement.path, statement.options);
  // Read once now so a malformed file fails here, naming this statement, not at first use.
  await connection.run(`SELECT * FROM (${query}) LIMIT 1`);
  await dropTemporary();
  await connection.run(`CREATE OR REPLACE TEMP VIEW ${identifier(statement.table)} AS ${query}`);
}

/** `save overwrite|append t as format.\`path\``; append rewrites the file with the old rows first. */
export async function runSave(
  connection: DuckDBConnection,
  statement: Extract<ByzerStatement, { kind: 'save' }>,
): Promise<void> {
  const table = identifier(statement.table);
  const exists = await fs
    .stat(statement.path)
    .then((stat) => stat.isFile())
    .catch(() => false);
  if (statement.mode === 'overwrite' || !exists) {
    await connection.run(
      copyStatement(`SELECT * FROM ${table}`, statement.format, statement.path, statement.options),
    );
    return;
  }
  const temporary = `${statement.path}.byzerllm-${process.pid}-${Date.now()}`;
  const source = `SELECT * FROM ${readerFor(statement.format, statement.path)} UNION ALL BY NAME SELECT * FROM ${table}`;
  try {
    await connection.run(copyStatement(source, statement.format, temporary, statement.options));
    await fs.rename(temporary, statement.path);
  } finally {
    await fs.rm(temporary, { force: true });
  }
}

/** `run command as LLM`: deploys (reconnect="false") or finds (reconnect="true") the model, then registers it. */
export async function runRunLlm(
  cluster: SqlCluster,
  models: ModelRegistry,
  options: Record<string, string>,
  defaults: SetupDefaults,
): Promise<void> {
  const command = runLlmCommand(options, defaults);
  if (command.reconnect) {
    const deployments = await cluster.list();
    if (!deployments.some((deployment) => deployment.name === command.name)) {
      throw new NotFoundError(
        `run command as LLM: no deployment named ${JSON.stringify(command.name)} to reconnect to; deploy it with byzerllm deploy --model ${command.name} … or use reconnect="false" with pretrainedModelType`,
      );
    }
  } else {
    await cluster.deploy(command.spec);
  }
  await models.register(command.name);
}

/** Whether a `run command as LLM` is a training job rather than a deployment. */
export function isTrainingCommand(options: Readonly<Record<string, string>>): boolean {
  return /^(sft|sfft)\//.test(options.pretrainedModelType ?? '');
}

/**
 * `run command as LLM` with a training type: reads `inputTable` (NULL columns count as absent) and
 * hands it with the parameters to the trainer. `!byzerllm setup "num_gpus=N"` becomes `num_gpus`
 * unless the statement names it.
 */
export async function runTrainLlm(
  connection: DuckDBConnection,
  trainer: SqlTrainer | undefined,
  options: Readonly<Record<string, string>>,
  defaults: SetupDefaults,
): Promise<Record<string, unknown>> {
  if (!trainer) {
    throw new InvalidArgumentError(
      `run command as LLM: pretrainedModelType=${JSON.stringify(options.pretrainedModelType)} trains a model, which this session cannot do`,
    );
  }
  const params: Record<string, string> = { ...options };
  if (params.num_gpus === undefined && defaults.gpusPerWorker !== undefined)
    params.num_gpus = String(defaults.gpusPerWorker);
  if (!params.inputTable) return trainer.train({ params });
  const reader = await connection.runAndReadAll(`SELECT * FROM ${identifier(params.inputTable)}`);
  const rows = reader
    .getRowObjects()
    .map((row) =>
      Object.fromEntries(
        Object.entries(jsRow(row)).filter(([, value]) => value !== null && value !== undefined),
      ),
    );
  return trainer.train({ params, rows });
}
