import type { Snapshot } from './api.js';
import { type Column, DataTable } from './data-table.js';
import type { DeploymentInfo } from './server-types.js';

const GIB = 1024 ** 3;

type PlacedWorker = DeploymentInfo['workers'][number] & { deployment: string };

const WORKER_COLUMNS: Column<PlacedWorker>[] = [
  { header: 'Deployment', cell: (worker) => worker.deployment },
  { header: 'Worker', cell: (worker) => worker.index },
  { header: 'Pid', cell: (worker) => worker.pid ?? 'in the head' },
  { header: 'GPUs', cell: (worker) => worker.gpuIndices.join(', ') || '-' },
];

/** The head, each node's resources and the workers placed on it, live. */
export function ClusterPage({ snapshot }: { snapshot: Snapshot | undefined }) {
  if (!snapshot) return <p class="loading">Waiting for the cluster…</p>;
  const { status } = snapshot;
  return (
    <>
      <p>
        Head <code>{status.head.address}</code> (pid {status.head.pid}), version {status.version}, started{' '}
        {new Date(status.head.startedAt).toLocaleString()}.
      </p>
      {status.nodes.map((node) => {
        const workers = status.deployments.flatMap((deployment) =>
          deployment.workers
            .filter((worker) => worker.node === node.id)
            .map((worker) => ({ deployment: deployment.name, ...worker })),
        );
        return (
          <section class="card" key={node.id} aria-labelledby={`node-${node.id}`}>
            <h2 id={`node-${node.id}`}>Node {node.id}</h2>
            <dl class="facts">
              <dt>CPUs</dt>
              <dd>
                {node.cpusUsed.toFixed(2)} used of {node.resources.cpus}
              </dd>
              <dt>Memory</dt>
              <dd>{(node.resources.memoryBytes / GIB).toFixed(1)} GiB</dd>
              <dt>GPUs</dt>
              <dd>{node.resources.gpus.length === 0 ? 'none' : node.resources.gpus.length}</dd>
            </dl>
            <DataTable
              caption={`Workers on ${node.id}`}
              columns={WORKER_COLUMNS}
              rows={workers}
              emptyText="No workers on this node."
            />
          </section>
        );
      })}
    </>
  );
}
