import { useRef, useState } from 'preact/hooks';
import { ApiError, callApi, type Snapshot } from './api.js';
import { DeployForm } from './deploy-form.js';
import { ModelMeta } from './model-meta.js';
import { WorkerTable } from './worker-table.js';

/** Each deployment with its workers' load, undeploy (after confirmation) and the deploy form. */
export function DeploymentsPage({ snapshot }: { snapshot: Snapshot | undefined }) {
  const [pending, setPending] = useState<string | undefined>();
  const [message, setMessage] = useState('');
  const dialog = useRef<HTMLDialogElement>(null);
  const askUndeploy = (name: string) => {
    setPending(name);
    dialog.current?.showModal();
  };
  const undeploy = async () => {
    dialog.current?.close();
    if (!pending) return;
    try {
      await callApi('DELETE', `deployments/${encodeURIComponent(pending)}`);
      setMessage(`${pending} undeployed.`);
    } catch (caught) {
      setMessage(caught instanceof ApiError ? caught.message : String(caught));
    }
  };
  const deployments = snapshot?.status.deployments ?? [];
  return (
    <>
      <p role="status">{message}</p>
      {!snapshot && <p class="loading">Waiting for the cluster…</p>}
      {snapshot && deployments.length === 0 && <p>Nothing is deployed yet: use the form below.</p>}
      {deployments.map((deployment) => {
        const stat = snapshot?.stats[deployment.name];
        return (
          <section class="card" key={deployment.name} aria-labelledby={`deployment-${deployment.name}`}>
            <div class="card-title">
              <h2 id={`deployment-${deployment.name}`}>{deployment.name}</h2>
              <button type="button" class="danger" onClick={() => askUndeploy(deployment.name)}>
                Undeploy {deployment.name}
              </button>
            </div>
            <dl class="facts">
              <dt>Type</dt>
              <dd>{deployment.pretrainedModelType}</dd>
              <dt>State</dt>
              <dd>
                {deployment.state}
                {deployment.error ? `: ${deployment.error}` : ''}
              </dd>
              <dt>Workers</dt>
              <dd>{stat ? `${stat.busy_workers} busy, ${stat.idle_workers} idle` : deployment.numWorkers}</dd>
              <dt>Waiting</dt>
              <dd>{stat?.waiting_requests ?? 0}</dd>
            </dl>
            {stat && <WorkerTable deployment={deployment.name} stat={stat} />}
            {deployment.state === 'running' && <ModelMeta deployment={deployment.name} />}
          </section>
        );
      })}
      <dialog ref={dialog} aria-labelledby="undeploy-title">
        <h2 id="undeploy-title">Undeploy {pending}?</h2>
        <p>Its workers stop and requests to it fail until it is deployed again.</p>
        <form method="dialog" class="actions">
          <button type="submit">Cancel</button>
          <button type="button" class="danger" onClick={undeploy}>
            Undeploy
          </button>
        </form>
      </dialog>
      <DeployForm onDeployed={(name) => setMessage(`${name} deployed.`)} />
    </>
  );
}
