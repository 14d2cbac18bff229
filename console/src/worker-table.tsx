/**
 * A deployment's workers with their load and the head's per-worker metrics (`worker_metrics` of
 * stat: finished and failed requests, latency p50/p95 over the recent requests, tokens per second).
 */
import type { DeploymentStat } from './server-types.js';
import { type Column, DataTable } from './data-table.js';

interface WorkerRow {
  ready: boolean;
  active: number;
  peak: number;
  requests: number;
  lastWork: string;
  metrics: DeploymentStat['worker_metrics'][number] | undefined;
}

const milliseconds = (value: number | null | undefined) => (value == null ? '-' : `${value} ms`);

const COLUMNS: Column<WorkerRow>[] = [
  { header: 'Worker', cell: (_row, index) => index },
  {
    header: 'State',
    cell: (row) => (!row.ready ? 'not ready' : row.active > 0 ? `busy (${row.active})` : 'idle'),
    class: 'state',
  },
  { header: 'Requests', cell: (row) => row.requests, class: 'requests' },
  { header: 'Errors', cell: (row) => row.metrics?.failed_requests ?? 0, class: 'errors' },
  { header: 'p50', cell: (row) => milliseconds(row.metrics?.latency_p50_ms), class: 'p50' },
  { header: 'p95', cell: (row) => milliseconds(row.metrics?.latency_p95_ms), class: 'p95' },
  { header: 'Tokens/s', cell: (row) => row.metrics?.tokens_per_second ?? '-', class: 'tokens-per-second' },
  { header: 'Peak', cell: (row) => row.peak },
  { header: 'Last work', cell: (row) => row.lastWork },
];

export function WorkerTable({ deployment, stat }: { deployment: string; stat: DeploymentStat }) {
  const rows: WorkerRow[] = stat.worker_state.map((worker, index) => ({
    ready: worker.ready,
    active: worker.active_task,
    peak: worker.peak_active_task,
    requests: stat.total_requests[index] ?? 0,
    lastWork: stat.workers_last_work_time[index] ?? '-',
    // A head from before the metrics existed sends none: the columns show '-'.
    metrics: stat.worker_metrics?.[index],
  }));
  return (
    <DataTable
      caption={`Workers of ${deployment}`}
      columns={COLUMNS}
      rows={rows}
      rowAttributes={(_row, index) => ({ 'data-worker': index })}
    />
  );
}
