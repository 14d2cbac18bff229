/**
 * What Byzer's non-query statements mean here: `load` and `save` as DuckDB reads and `COPY`s,
 * `!byzerllm setup` as deployment defaults, `run command as LLM` as a deployment spec.
 */
import { type DeploymentSpecInput, InvalidArgumentError } from '../core/index.js';
import type { LoadFormat, SaveFormat } from './byzer-statement.js';

/** A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A quoted DuckDB identifier. */
export function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const CSV_OPTIONS: Record<string, string> = {
  header: 'header',
  delimiter: 'delim',
  delim: 'delim',
  quote: 'quote',
  escape: 'escape',
};

/** The query that reads a `load` source. Unknown options are errors naming the allowed ones. */
export function loadQuery(format: LoadFormat, path: string, options: Record<string, string>): string {
  const source = literal(path);
  const allowed = format === 'text' ? ['wholetext'] : format === 'csv' ? Object.keys(CSV_OPTIONS) : [];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(
        `load ${format}: unknown option ${JSON.stringify(key)}; allowed: ${allowed.join(', ') || '(none)'}`,
      );
    }
  }
  switch (format) {
    case 'text':
      if (options.wholetext === 'true')
        return `SELECT content AS value, filename AS file FROM read_text(${source})`;
      // One row per line, as Spark's text source: split every file, drop the empty piece after a final newline.
      return (
        `SELECT value FROM (SELECT unnest(string_split(content, chr(10))) AS value, ` +
        `generate_subscripts(string_split(content, chr(10)), 1) AS position, ` +
        `len(string_split(content, chr(10))) AS count FROM read_text(${source})) ` +
        `WHERE NOT (position = count AND value = '')`
      );
    case 'json':
      return `SELECT * FROM read_json_auto(${source})`;
    case 'jsonl':
      return `SELECT * FROM read_json_auto(${source}, format = 'newline_delimited')`;
    case 'csv': {
      const settings = Object.entries(options).map(([key, value]) =>
        key === 'header' ? `header = ${value === 'true'}` : `${CSV_OPTIONS[key]} = ${literal(value)}`,
      );
      if (!('header' in options)) settings.push('header = true');
      return `SELECT * FROM read_csv_auto(${[source, ...settings].join(', ')})`;
    }
    case 'parquet':
      return `SELECT * FROM read_parquet(${source})`;
  }
}

/** The `COPY … TO` for a `save`; `source` is the query whose rows are written. */
export function copyStatement(
  source: string,
  format: SaveFormat,
  path: string,
  options: Record<string, string>,
) {
  for (const key of Object.keys(options)) {
    if (!(format === 'csv' && key === 'header')) {
      throw new InvalidArgumentError(
        `save ${format}: unknown option ${JSON.stringify(key)}; allowed: ${format === 'csv' ? 'header' : '(none)'}`,
      );
    }
  }
  const settings = [`FORMAT ${format}`];
  if (format === 'csv') settings.push(`HEADER ${options.header !== 'false'}`);
  return `COPY (${source}) TO ${literal(path)} (${settings.join(', ')})`;
}

export function readerFor(format: SaveFormat, path: string): string {
  if (format === 'csv') return `read_csv_auto(${literal(path)}, header = true)`;
  if (format === 'json') return `read_json_auto(${literal(path)})`;
  return `read_parquet(${literal(path)})`;
}

/** Deployment defaults set by `!byzerllm setup "k=v"` for the next `run command as LLM`. */
export type SetupDefaults = Partial<
  Pick<
    DeploymentSpecInput,
    'numWorkers' | 'workerConcurrency' | 'gpusPerWorker' | 'cpusPerWorker' | 'inferBackend'
  >
>;

const SETUP_KEYS: Record<string, keyof SetupDefaults> = {
  num_gpus: 'gpusPerWorker',
  gpus_per_worker: 'gpusPerWorker',
  maxConcurrency: 'workerConcurrency',
  workerMaxConcurrency: 'workerConcurrency',
  worker_concurrency: 'workerConcurrency',
  num_workers: 'numWorkers',
  cpus_per_worker: 'cpusPerWorker',
  infer_backend: 'inferBackend',
};

/**
 * Applies one `!byzerllm setup` setting to the defaults. `single` (one node) and Byzer-LLM's mode
 * markers `sft` / `sfft` change nothing here: the training type is read from `pretrainedModelType`.
 */
export function applySetup(defaults: SetupDefaults, setting: string): SetupDefaults {
  if (setting === 'single' || setting === 'sft' || setting === 'sfft') return defaults;
  const match = /^\s*([\w.]+)\s*=\s*(.*?)\s*$/.exec(setting);
  const field = match ? SETUP_KEYS[match[1]!] : undefined;
  if (!match || !field) {
    throw new InvalidArgumentError(
      `unknown setup ${JSON.stringify(setting)}; allowed: single, sft, sfft, or "key=value" with key one of ${Object.keys(SETUP_KEYS).join(', ')}`,
    );
  }
  const value = match[2]!;
  if (field === 'inferBackend') return { ...defaults, inferBackend: value };
  const number = Number(value);
  if (value === '' || !Number.isFinite(number) || number < 0) {
    throw new InvalidArgumentError(
      `setup ${match[1]} must be a non-negative number, got ${JSON.stringify(value)}`,
    );
  }
  return { ...defaults, [field]: number };
}

/** Keys of `run command as LLM` that are not engine parameters. */
const RUN_KEYS = new Set([
  'action',
  'udfName',
  'pretrainedModelType',
  'localModelDir',
  'reconnect',
  'modelTable',
]);

export interface RunLlmCommand {
  name: string;
  reconnect: boolean;
  spec: DeploymentSpecInput;
}

/** Reads `run command as LLM.`` where …` into the deployment it names or deploys. */
export function runLlmCommand(options: Record<string, string>, defaults: SetupDefaults): RunLlmCommand {
  const action = options.action ?? 'infer';
  if (action !== 'infer') {
    throw new InvalidArgumentError(
      `run command as LLM: action=${JSON.stringify(action)} is not supported here; allowed: infer (training: pretrainedModelType="sft/…" or "sfft/…")`,
    );
  }
  const name = options.udfName;
  if (!name)
    throw new InvalidArgumentError('run command as LLM: missing udfName="…", the name of the model function');
  const reconnect = (options.reconnect ?? 'false').toLowerCase();
  if (reconnect !== 'true' && reconnect !== 'false') {
    throw new InvalidArgumentError(
      `run command as LLM: reconnect must be "true" or "false", got ${JSON.stringify(options.reconnect)}`,
    );
  }
  const inferParams: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (RUN_KEYS.has(key) || key in SETUP_KEYS) continue;
    inferParams[key] = value;
  }
  let setup = defaults;
  for (const key of Object.keys(SETUP_KEYS)) {
    if (options[key] !== undefined) setup = applySetup(setup, `${key}=${options[key]}`);
  }
  const pretrainedModelType = options.pretrainedModelType ?? '';
  if (reconnect === 'false' && (pretrainedModelType === '' || pretrainedModelType.endsWith('/*'))) {
    throw new InvalidArgumentError(
      `run command as LLM: deploying ${name} needs pretrainedModelType="saas/…" or "custom/…" (or reconnect="true" to use a deployed model)`,
    );
  }
  return {
    name,
    reconnect: reconnect === 'true',
    spec: { name, pretrainedModelType, modelPath: options.localModelDir ?? '', inferParams, ...setup },
  };
}
