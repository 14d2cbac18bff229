/**
 * A worker node process (`byzerllm start --address nats://…`): joins the cluster through NATS,
 * advertises this machine's resources and runs the workers the head places here. Prints one ready
 * line (JSON) when started by `byzerllm start`; SIGTERM leaves the cluster cleanly.
 */
import path from 'node:path';
import fs from 'node:fs/promises';
import {
  ClusterKey,
  checkNodeId,
  connectNats,
  defaultNodeId,
  natsSecurityFromEnvironment,
  redactNatsUrl,
  createInProcessTransport,
  createLocalTransport,
  createProcessTransport,
  detectNodeResources,
  ensureStateDirectory,
  removeStaleTemporaryFiles,
  resolveStateDirectory,
  startNodeAgent,
  writeFileAtomic,
  workerLogPath,
} from '../cluster/index.js';
import { createTrainingJobRunner } from './training-job-runner.js';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} [node ${process.pid}] ${line}\n`);
}

export function nodeFilePath(stateDirectory: string): string {
  return path.join(stateDirectory, 'node.json');
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const [key, ...value] = pair.split('=');
    if (key) labels[key] = value.join('=');
  }
  return labels;
}

async function runNode(): Promise<void> {
  process.stdout.on('error', () => {});
  const url = process.env.BYZERLLM_NATS_URL;
  if (!url) throw new Error('BYZERLLM_NATS_URL is not set');
  const stateDirectory = resolveStateDirectory();
  await ensureStateDirectory(stateDirectory);
  await removeStaleTemporaryFiles(stateDirectory);
  const nodeId = process.env.BYZERLLM_NODE_ID || defaultNodeId();
  checkNodeId(nodeId);
  const keyFile = process.env.BYZERLLM_CLUSTER_KEY_FILE;
  const clusterKey = keyFile ? await ClusterKey.fromFile(keyFile) : undefined;
  const connection = await connectNats(url, `byzerllm-node-${nodeId}`, natsSecurityFromEnvironment());
  const agent = await startNodeAgent({
    connection,
    ...(clusterKey ? { clusterKey } : {}),
    nodeId,
    resources: await detectNodeResources(),
    labels: parseLabels(process.env.BYZERLLM_NODE_LABELS),
    // SaaS workers in this process, local engines' workers in child processes.
    transport: createLocalTransport({
      inProcess: createInProcessTransport({ nodeId }),
      process: createProcessTransport({
        log,
        workerLogFile: (deployment, workerIndex) => workerLogPath(stateDirectory, deployment, workerIndex),
      }),
    }),
    log,
    jobRunner: createTrainingJobRunner(),
  });
  // node.json and the ready line name the cluster without its credentials.
  const address = redactNatsUrl(url);
  const ready = { pid: process.pid, nodeId, address };
  await writeFileAtomic(nodeFilePath(stateDirectory), `${JSON.stringify(ready)}\n`, 0o600);
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log(`leaving the cluster (${reason})`);
    await agent.close();
    await connection.drain().catch(() => {});
    await fs.rm(nodeFilePath(stateDirectory), { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.env.BYZERLLM_HEAD_NOTIFY === '1') process.stdout.write(`${JSON.stringify(ready)}\n`);
  else
    process.stdout.write(`byzerllm node ${nodeId} joined ${address} (pid ${process.pid}); Ctrl+C leaves\n`);
}

runNode().catch((error: unknown) => {
  log(`failed to start: ${(error as Error).message}`);
  process.exit(1);
});
