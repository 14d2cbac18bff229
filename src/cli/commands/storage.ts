/**
 * `byzerllm storage start|stop|status|export` and `storage emb start|stop`: Byzer storage on the
 * head (LanceDB under `$BYZERLLM_HOME/storage`), with the original's flags and ✓/!/✗ lines.
 *
 * There is no service to install or launch: the store runs inside the head, so `start` marks the
 * cluster started and (with `--enable_emb`) deploys its embedding model; `stop` undeploys what
 * `start` deployed and keeps the data.
 */
import type { Command } from 'commander';
import type { ClusterConnection } from '../../cluster/index.js';
import { InvalidArgumentError, toByzerLLMError } from '../../core/index.js';
import { type ClusterDescription, connectStorage, type StorageConnection } from '../../storage/index.js';
import { printArgumentsBanner, mergeConfigFile } from '../arguments.js';
import { chosenAddress, connect } from '../connect.js';
import { addAddressOptions } from '../options.js';

interface StorageFlags {
  cluster: string;
  enable_emb?: boolean;
  emb_model_path?: string;
  emb_model?: string;
  address?: string;
  ray_address?: string;
  file?: string;
  [ignored: string]: unknown;
}

const CONFIG_KEYS = ['cluster', 'enable_emb', 'emb_model_path', 'emb_model', 'address', 'ray_address'];
/** Flags of the original that mean nothing here (no Java service, no Ray nodes): accepted, warned. */
const IGNORED_FLAGS = ['version', 'base_dir', 'num_nodes', 'node_cpus', 'node_memory', 'enable_model_memory'];
const EMB = 'emb';

/** Collects the ✓/!/✗ lines of one command; problems end it with an error after all steps ran. */
class StepReport {
  readonly problems: string[] = [];
  ok(line: string): void {
    process.stdout.write(`✓ ${line}\n`);
  }
  warn(line: string): void {
    process.stdout.write(`! ${line}\n`);
  }
  fail(line: string): void {
    process.stdout.write(`✗ ${line}\n`);
    this.problems.push(line);
  }
  finish(command: string): void {
    if (this.problems.length === 0) return;
    throw new InvalidArgumentError(
      `storage ${command} finished with ${this.problems.length} problem(s): ${this.problems.join('; ')}`,
    );
  }
}

function describeTables(description: ClusterDescription): string {
  if (description.tables.length === 0) return 'no tables';
  return `${description.tables.length} table(s)`;
}

async function withStorage(
  flags: StorageFlags,
  run: (cluster: ClusterConnection, storage: StorageConnection, report: StepReport) => Promise<void>,
  command: string,
): Promise<void> {
  const merged: StorageFlags = await mergeConfigFile(flags, CONFIG_KEYS);
  printArgumentsBanner({ ...merged, address: chosenAddress(merged) });
  const report = new StepReport();
  for (const name of IGNORED_FLAGS) {
    if (merged[name] !== undefined)
      report.warn(`--${name} is ignored: the store (LanceDB) runs inside the head`);
  }
  const cluster = await connect(merged);
  try {
    report.ok(`head at ${'address' in cluster ? String(cluster.address) : chosenAddress(merged)}`);
    await run(cluster, connectStorage(cluster), report);
  } finally {
    await cluster.close();
  }
  report.finish(command);
}

/** Deploys `emb` (custom/bge on transformers) from a local folder; nothing is downloaded. */
async function deployEmb(
  cluster: ClusterConnection,
  modelPath: string | undefined,
  report: StepReport,
): Promise<boolean> {
  const deployed = (await cluster.list()).some((deployment) => deployment.name === EMB);
  if (deployed) {
    report.warn(`${EMB} is deployed already: kept as it is`);
    return false;
  }
  if (!modelPath) {
    report.fail(
      `${EMB} needs --emb_model_path DIR (a local bge model folder with onnx/model.onnx; nothing is downloaded) or --emb_model NAME (an embedding deployment)`,
    );
    return false;
  }
  try {
    await cluster.deploy({
      name: EMB,
      pretrainedModelType: 'custom/bge',
      inferBackend: 'transformers',
      modelPath,
      numWorkers: 1,
      workerConcurrency: 20,
      cpusPerWorker: 0.01,
    });
    report.ok(`deployed ${EMB} (custom/bge from ${modelPath})`);
    return true;
  } catch (error) {
    report.fail(`could not deploy ${EMB}: ${toByzerLLMError(error).message}`);
    return false;
  }
}

async function start(
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
) {
  const before = await storage.call('describeCluster', { cluster: flags.cluster });
  if (before.started) report.warn(`cluster ${flags.cluster} was started already`);
  let description = await storage.call('configureCluster', { cluster: flags.cluster, started: true });
  report.ok(
    `cluster ${flags.cluster} started: data in ${description.directory} (${describeTables(description)})`,
  );
  if (flags.emb_model) {
    const found = (await cluster.list()).some((deployment) => deployment.name === flags.emb_model);
    if (!found) report.fail(`no deployment named ${flags.emb_model} to embed with; deploy it first`);
    else {
      description = await storage.call('configureCluster', {
        cluster: flags.cluster,
        embModel: flags.emb_model,
      });
      report.ok(`cluster ${flags.cluster} embeds with deployment ${flags.emb_model}`);
    }
  } else if (flags.enable_emb) {
    const deployed = await deployEmb(cluster, flags.emb_model_path, report);
    if (deployed)
      await storage.call('configureCluster', { cluster: flags.cluster, embModel: null, embDeployed: true });
  } else if (!(await cluster.list()).some((deployment) => deployment.name === description.embModel)) {
    report.warn(`no deployment ${description.embModel}: vector fields need --enable_emb or --emb_model NAME`);
  }
}

async function stop(
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
) {
  const before = await storage.call('describeCluster', { cluster: flags.cluster });
  if (!before.started) report.warn(`cluster ${flags.cluster} was not started`);
  if (before.embDeployed) {
    const { removed } = await cluster.undeploy(EMB);
    if (removed) report.ok(`undeployed ${EMB}`);
    else report.warn(`${EMB} was not deployed`);
  }
  const after = await storage.call('configureCluster', {
    cluster: flags.cluster,
    started: false,
    embDeployed: false,
  });
  report.ok(`cluster ${flags.cluster} stopped; its data stays in ${after.directory}`);
}

async function status(
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
) {
  const description = await storage.call('describeCluster', { cluster: flags.cluster });
  if (description.started) report.ok(`cluster ${flags.cluster} started: data in ${description.directory}`);
  else report.warn(`cluster ${flags.cluster} is not started (byzerllm storage start)`);
  const embedding = (await cluster.list()).find((deployment) => deployment.name === description.embModel);
  if (embedding) report.ok(`embedding model ${description.embModel}: ${embedding.state}`);
  else report.warn(`embedding model ${description.embModel} is not deployed`);
  for (const table of description.tables) report.ok(`${table.database}.${table.table}: ${table.rows} rows`);
  if (description.tables.length === 0) report.warn('no tables yet');
}

function addStorageOptions(command: Command): Command {
  command.option('--cluster <name>', 'the storage cluster', 'byzerai_store');
  for (const name of IGNORED_FLAGS) {
    command.option(`--${name} [value]`, `accepted for Byzer-LLM scripts; ignored (no separate service here)`);
  }
  return addAddressOptions(command).exitOverride();
}

/** One storage step: what a subcommand does once the head and the storage service are connected. */
type StorageStep = (
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
) => Promise<void>;

/** Adds `parent <name>` with the shared storage options, running `step` through `withStorage`. */
function addStorageSubcommand(
  parent: Command,
  name: string,
  description: string,
  step: StorageStep,
  addOptions: (command: Command) => Command = (command) => command,
): void {
  const label = parent.name() === 'storage' ? name : `${parent.name()} ${name}`;
  addStorageOptions(addOptions(parent.command(name).description(description))).action((flags: StorageFlags) =>
    withStorage(flags, (cluster, storage, report) => step(cluster, storage, flags, report), label),
  );
}

async function exportCluster(
  _cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
): Promise<void> {
  const { file } = await storage.call('exportCluster', { cluster: flags.cluster });
  report.ok(`exported cluster ${flags.cluster} to ${file}`);
}

async function startEmb(
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
): Promise<void> {
  if (await deployEmb(cluster, flags.emb_model_path, report)) {
    await storage.call('configureCluster', { cluster: flags.cluster, embModel: null, embDeployed: true });
  }
}

async function stopEmb(
  cluster: ClusterConnection,
  storage: StorageConnection,
  flags: StorageFlags,
  report: StepReport,
): Promise<void> {
  const { removed } = await cluster.undeploy(EMB);
  if (removed) report.ok(`undeployed ${EMB}`);
  else report.warn(`${EMB} was not deployed`);
  await storage.call('configureCluster', { cluster: flags.cluster, embDeployed: false });
}

export function registerStorage(program: Command): void {
  const storageCommand = program
    .command('storage')
    .description(
      'Byzer storage: tables with vector, full-text and hybrid search (LanceDB inside the head; data in $BYZERLLM_HOME/storage)',
    )
    .exitOverride();
  const embFlags = (command: Command) =>
    command
      .option('--enable_emb', `deploy the embedding model ${EMB} (custom/bge on transformers)`, false)
      .option('--emb_model_path <dir>', `the local model folder of ${EMB} (nothing is downloaded)`)
      .option('--emb_model <name>', `embed with this existing deployment instead of deploying ${EMB}`);
  addStorageSubcommand(
    storageCommand,
    'start',
    'start a storage cluster (and its embedding model)',
    start,
    embFlags,
  );
  addStorageSubcommand(
    storageCommand,
    'stop',
    'stop a storage cluster; undeploys what start deployed; data stays',
    stop,
  );
  addStorageSubcommand(storageCommand, 'status', 'the cluster, its embedding model and its tables', status);
  addStorageSubcommand(
    storageCommand,
    'export',
    'write the cluster info (tables, schemas, rows) to $BYZERLLM_HOME/storage/<cluster>.json',
    exportCluster,
  );
  const emb = storageCommand
    .command('emb')
    .description(`deploy or undeploy the embedding model ${EMB}`)
    .exitOverride();
  addStorageSubcommand(emb, 'start', `deploy ${EMB} (custom/bge on transformers)`, startEmb, (command) =>
    command.option('--emb_model_path <dir>', 'the local model folder'),
  );
  addStorageSubcommand(emb, 'stop', `undeploy ${EMB}`, stopEmb);
}
