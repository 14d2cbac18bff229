/**
 * `byzerllm ps`: what is running, on one screen (like `ollama ps`): each deployment with its type,
 * workers busy and idle, the memory of its worker processes and how long it has run.
 *
 * Memory is the resident size of the worker processes this machine can see (`/proc/<pid>/status`);
 * SaaS deployments run inside the head ("in head"), and workers on other nodes show "-".
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import type { DeploymentInfo, DeploymentStat } from '../../cluster/index.js';
import { connect } from '../connect.js';
import { addAddressOptions } from '../options.js';
import { formatTable, printJsonOrEmpty } from '../table-output.js';

interface PsRow {
  name: string;
  type: string;
  state: string;
  workers: number;
  busy: number;
  idle: number;
  /** Resident memory of the worker processes seen here; null when none could be read. */
  memoryBytes: number | null;
  inHead: boolean;
  startedAt: string | null;
}

export function registerPs(program: Command): void {
  const command = program
    .command('ps')
    .description('what is running: deployments, workers busy/idle, memory, since (never starts a head)')
    .option('--json', 'print JSON', false);
  addAddressOptions(command).action(async (flags: { json?: boolean; address?: string }) => {
    const cluster = await connect(flags, { autoStart: false });
    try {
      const deployments = await cluster.list();
      const rows = await Promise.all(
        deployments.map(async (deployment) =>
          psRow(deployment, deployment.state === 'running' ? await cluster.stat(deployment.name) : undefined),
        ),
      );
      if (printJsonOrEmpty(rows, flags.json, 'nothing is deployed')) return;
      const now = Date.now();
      process.stdout.write(
        formatTable(
          ['NAME', 'TYPE', 'STATE', 'WORKERS', 'MEMORY', 'SINCE'],
          rows.map((row) => [
            row.name,
            row.type,
            row.state,
            `${row.workers} (${row.busy} busy, ${row.idle} idle)`,
            row.inHead ? 'in head' : row.memoryBytes === null ? '-' : formatBytes(row.memoryBytes),
            row.startedAt ? formatAge(now - Date.parse(row.startedAt)) : '-',
          ]),
        ),
      );
    } finally {
      await cluster.close();
    }
  });
}

async function psRow(deployment: DeploymentInfo, stat: DeploymentStat | undefined): Promise<PsRow> {
  const pids = deployment.workers.flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid]));
  const sizes = await Promise.all(pids.map(residentBytes));
  const known = sizes.filter((size): size is number => size !== null);
  return {
    name: deployment.name,
    type: deployment.pretrainedModelType + (deployment.inferBackend ? ` (${deployment.inferBackend})` : ''),
    state: deployment.state,
    workers: stat?.total_workers ?? deployment.numWorkers,
    busy: stat?.busy_workers ?? 0,
    idle: stat?.idle_workers ?? 0,
    memoryBytes: known.length === 0 ? null : known.reduce((sum, size) => sum + size, 0),
    inHead: deployment.workers.length > 0 && pids.length === 0,
    startedAt: deployment.startedAt ?? null,
  };
}

/** VmRSS of a process on this machine; null when it is elsewhere or gone. */
async function residentBytes(pid: number): Promise<number | null> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kilobytes === undefined ? null : Number(kilobytes) * 1024;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

function formatAge(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  if (seconds < 60) return `${seconds} seconds ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} minutes ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} hours ago`;
  return `${Math.floor(seconds / 86_400)} days ago`;
}
