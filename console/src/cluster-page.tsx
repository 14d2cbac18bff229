import type { Snapshot } from './api.js';

const GIB = 1024 ** 3;

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
            <div class="table-scroll">
              <table>
                <caption>Workers on {node.id}</caption>
                <thead>
                  <tr>
                    <th scope="col">Deployment</th>
                    <th scope="col">Worker</th>
                    <th scope="col">Pid</th>
                    <th scope="col">GPUs</th>
                  </tr>
                </thead>
                <tbody>
                  {workers.length === 0 && (
                    <tr>
                      <td colSpan={4}>No workers on this node.</td>
                    </tr>
                  )}
                  {workers.map((worker) => (
                    <tr key={worker.id}>
                      <td>{worker.deployment}</td>
                      <td>{worker.index}</td>
                      <td>{worker.pid ?? 'in the head'}</td>
                      <td>{worker.gpuIndices.join(', ') || '-'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        );
      })}
    </>
  );
}
