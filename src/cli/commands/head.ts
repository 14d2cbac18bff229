import type { Command } from 'commander';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkNodeId,
  type ClusterConnection,
  connectCluster,
  ensureHead,
  ensureStateDirectory,
  findRunningHead,
  HEAD_ENTRY,
  HeadClient,
  isProcessAlive,
  natsSecurityEnvironment,
  redactNatsUrl,
  resolveStateDirectory,
  spawnHead,
} from '../../cluster/index.js';
import { HeadUnreachableError, InvalidArgumentError, TimeoutError } from '../../core/index.js';
import {
  addNatsSecurityOptions,
  type NatsSecurityFlags,
  natsSecurityFromFlags,
  parsePositiveInteger,
} from '../options.js';
import { formatTable } from '../table-output.js';

const NATS_URL = /^(nats|tls):\/\//;

/** `--node_id` is one NATS subject token: refused here, before a process starts, naming it. */
function checkedNodeId(nodeId: string): string {
  checkNodeId(nodeId);
  return nodeId;
}

/** What the head or node process needs to reach NATS securely, as its environment. */
function clusterEnvironment(flags: StartFlags): Record<string, string> {
  const security = natsSecurityFromFlags(flags);
  // Paths become absolute: the process runs from another directory.
  const tls = security.tls
    ? Object.fromEntries(Object.entries(security.tls).map(([name, file]) => [name, path.resolve(file)]))
    : undefined;
  const environment = natsSecurityEnvironment({
    ...(security.credsFile ? { credsFile: path.resolve(security.credsFile) } : {}),
    ...(tls ? { tls } : {}),
  });
  const keyFile = flags.cluster_key_file ?? process.env.BYZERLLM_CLUSTER_KEY_FILE;
  if (keyFile) environment.BYZERLLM_CLUSTER_KEY_FILE = path.resolve(keyFile);
  return environment;
}

export function registerHeadCommands(program: Command): void {
  registerStart(program);
  program
    .command('stop')
    .description('stop the head and every worker; deployments come back on the next start')
    .action(stopHead);
  registerStatus(program);
}

function registerStart(program: Command): void {
  const startCommand = program
    .command('start')
    .description(
      'start the head (the embedded control plane) in the background; state in $BYZERLLM_HOME or ~/.byzerllm.\n' +
        'Cluster: `start --head --nats nats://HOST:4222` on the head machine, `start --address nats://HOST:4222` on each worker machine.',
    )
    .option('--foreground', 'run in this process (for systemd, containers) instead of the background', false)
    .option('--head', 'start a cluster head (with --nats)', false)
    .option(
      '--nats <url>',
      'the NATS server of the cluster (nats://[user:password@|token@]HOST:4222) for --head',
    )
    .option('--head_only', 'with --head: run no workers on this machine', false)
    .option('--address <url>', 'join the cluster at nats://HOST:4222 as a worker node')
    .option('--node_id <id>', "this node's id in the cluster (default: the host name)")
    .option('--labels <key=value,...>', 'labels this node advertises, e.g. zone=a,gpu=a100')
    .option(
      '--cpus <n>',
      'with --address: the CPUs this node offers to workers and training jobs (default: all of them)',
      parsePositiveInteger,
    )
    .option(
      '--cluster_key_file <file>',
      'the secret the head and nodes share (nodes sign with it, secrets are sealed with it); the head creates it if missing, copy it to each node (default: $BYZERLLM_CLUSTER_KEY_FILE)',
    );
  addNatsSecurityOptions(startCommand).action(startHead);
}

/** `start`: a node (`--address`), or the head (embedded, or a cluster head with `--nats`). */
async function startHead(flags: StartFlags): Promise<void> {
  // A missing credentials or TLS file is a usage error now, not a head that dies in the background.
  natsSecurityFromFlags(flags);
  if (flags.address !== undefined) return startNode(flags);
  const environment: Record<string, string> = {};
  if (flags.head || flags.nats) {
    if (!NATS_URL.test(flags.nats ?? '')) {
      throw new InvalidArgumentError(
        `--head needs --nats nats://HOST:4222 (the NATS server of the cluster); got ${JSON.stringify(redactNatsUrl(flags.nats ?? ''))}`,
      );
    }
    environment.BYZERLLM_NATS_URL = flags.nats!;
    Object.assign(environment, clusterEnvironment(flags));
    if (flags.head_only) environment.BYZERLLM_HEAD_ONLY = '1';
    if (flags.node_id) environment.BYZERLLM_NODE_ID = checkedNodeId(flags.node_id);
  }
  if (flags.foreground) return runInForeground(environment, () => import('../head-main.js'));
  const stateDirectory = resolveStateDirectory();
  const already = await findRunningHead(stateDirectory);
  if (already && environment.BYZERLLM_NATS_URL) {
    throw new InvalidArgumentError(
      `a head is already running for ${stateDirectory} (pid ${already.pid}); \`byzerllm stop\` it first to start a cluster head`,
    );
  }
  const head =
    already ?? (await ensureHead({ stateDirectory, entry: HEAD_ENTRY, environment, onStarting: () => {} }));
  process.stdout.write(
    already
      ? `head already running at ${head.address} (pid ${head.pid})\n`
      : `head started at ${head.address} (pid ${head.pid})${flags.nats ? ` for the cluster at ${redactNatsUrl(flags.nats)}` : ''}; logs in ${stateDirectory}/logs/head.log\n`,
  );
}

async function stopHead(): Promise<void> {
  const stateDirectory = resolveStateDirectory();
  const stoppedNode = await stopNode(stateDirectory);
  const head = await findRunningHead(stateDirectory);
  if (!head) {
    if (!stoppedNode) process.stdout.write(`no head is running (state in ${stateDirectory})\n`);
    return;
  }
  const client = new HeadClient({ address: head.address, token: head.token });
  try {
    await client.shutdown();
  } finally {
    await client.close();
  }
  const deadline = Date.now() + 30_000;
  while (isProcessAlive(head.pid)) {
    if (Date.now() > deadline) throw new TimeoutError(`the head (pid ${head.pid}) did not stop within 30s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.stdout.write(`head stopped (pid ${head.pid})\n`);
}

type StatusFlags = { json?: boolean; address?: string } & NatsSecurityFlags;

function registerStatus(program: Command): void {
  const statusCommand = program
    .command('status')
    .description('show the head, its nodes with their resources, and the deployments with their workers')
    .option('--json', 'print JSON', false)
    .option(
      '--address <address>',
      "a cluster to show: nats://HOST:4222 or http://HOST:PORT (default: $BYZERLLM_ADDRESS, else this machine's head; none running is exit code 6)",
    );
  addNatsSecurityOptions(statusCommand).action(showStatus);
}

async function showStatus(flags: StatusFlags): Promise<void> {
  const stateDirectory = resolveStateDirectory();
  const address = flags.address ?? (process.env.BYZERLLM_ADDRESS || 'auto');
  let client: ClusterConnection;
  if (address !== 'auto') {
    client = await connectCluster({ address, nats: natsSecurityFromFlags(flags) });
  } else {
    const head = await findRunningHead(stateDirectory);
    if (!head) {
      // A script asking "is it up?" gets its answer from the exit code.
      throw new HeadUnreachableError(
        `no head is running (state in ${stateDirectory}); \`byzerllm start\` starts one`,
      );
    }
    client = new HeadClient({ address: head.address, token: head.token });
  }
  try {
    const status = await client.status();
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return;
    }
    printStatus(status);
  } finally {
    await client.close();
  }
}

function printStatus(status: Awaited<ReturnType<ClusterConnection['status']>>): void {
  process.stdout.write(
    `head ${status.head.address} pid ${status.head.pid} version ${status.version} since ${status.head.startedAt}\n` +
      `state ${status.head.stateDirectory}\n\n`,
  );
  process.stdout.write(
    formatTable(
      ['NODE', 'CPUS', 'CPUS USED', 'MEMORY', 'GPUS', 'WORKERS'],
      status.nodes.map((node) => [
        node.id,
        String(node.resources.cpus),
        node.cpusUsed.toFixed(2),
        `${(node.resources.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
        String(node.resources.gpus.length),
        String(
          status.deployments
            .flatMap((deployment) => deployment.workers)
            .filter((worker) => worker.node === node.id).length,
        ),
      ]),
    ),
  );
  const rows = status.deployments.flatMap((deployment) =>
    deployment.workers.length === 0
      ? [[deployment.name, '-', '-', deployment.state]]
      : deployment.workers.map((worker) => [
          deployment.name,
          worker.id,
          worker.node + (worker.pid ? ` pid ${worker.pid}` : ''),
          deployment.state,
        ]),
  );
  process.stdout.write(`\n${formatTable(['DEPLOYMENT', 'WORKER', 'WHERE', 'STATE'], rows)}`);
}

interface StartFlags extends NatsSecurityFlags {
  cluster_key_file?: string;
  foreground?: boolean;
  head?: boolean;
  nats?: string;
  head_only?: boolean;
  address?: string;
  node_id?: string;
  labels?: string;
  cpus?: number;
}

const NODE_ENTRY = fileURLToPath(new URL('../node-main.js', import.meta.url));

async function startNode(flags: StartFlags): Promise<void> {
  const address = flags.address ?? '';
  if (!NATS_URL.test(address)) {
    throw new InvalidArgumentError(
      `--address ${JSON.stringify(redactNatsUrl(address))}: a worker node joins a cluster at nats://HOST:4222`,
    );
  }
  const environment: Record<string, string> = { BYZERLLM_NATS_URL: address, ...clusterEnvironment(flags) };
  if (flags.node_id) environment.BYZERLLM_NODE_ID = checkedNodeId(flags.node_id);
  if (flags.labels) environment.BYZERLLM_NODE_LABELS = flags.labels;
  if (flags.cpus !== undefined) environment.BYZERLLM_NUM_CPUS = String(flags.cpus);
  if (flags.foreground) return runInForeground(environment, () => import('../node-main.js'));
  const stateDirectory = resolveStateDirectory();
  const running = await readNodeFile(stateDirectory);
  if (running && isProcessAlive(running.pid)) {
    process.stdout.write(
      `node ${running.nodeId} already running (pid ${running.pid}) in ${running.address}\n`,
    );
    return;
  }
  const node = await spawnHead<{ pid: number; nodeId: string }>({
    stateDirectory,
    entry: NODE_ENTRY,
    environment,
    logFile: path.join(stateDirectory, 'logs', 'node.log'),
  });
  process.stdout.write(
    `node ${node.nodeId} joined ${redactNatsUrl(address)} (pid ${node.pid}); logs in ${stateDirectory}/logs/node.log\n`,
  );
}

async function readNodeFile(
  stateDirectory: string,
): Promise<{ pid: number; nodeId: string; address: string } | undefined> {
  // A node.json planted by another user would make `stop` signal a process of their choosing.
  await ensureStateDirectory(stateDirectory);
  try {
    return JSON.parse(await fs.readFile(path.join(stateDirectory, 'node.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Stops this machine's worker node, if one runs. */
async function stopNode(stateDirectory: string): Promise<boolean> {
  const node = await readNodeFile(stateDirectory);
  if (!node || !isProcessAlive(node.pid)) return false;
  process.kill(node.pid, 'SIGTERM');
  await waitForExit(node.pid, `node ${node.nodeId}`);
  process.stdout.write(`node ${node.nodeId} left the cluster (pid ${node.pid})\n`);
  return true;
}

async function waitForExit(pid: number, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) throw new TimeoutError(`${what} (pid ${pid}) did not stop within 30s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `--foreground`: the process entry runs here, with the environment it would have been spawned with. */
async function runInForeground(
  environment: Record<string, string>,
  entry: () => Promise<unknown>,
): Promise<void> {
  Object.assign(process.env, environment);
  await entry();
}
