/**
 * A deployment's model meta (`byzerllm meta`), read when the reader opens it: asking for meta is a
 * call to a worker, so the page does not make one per deployment on every visit.
 */
import { useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';
import { showValue } from './data-table.js';

export function ModelMeta({ deployment }: { deployment: string }) {
  const [meta, setMeta] = useState<Record<string, unknown> | undefined>();
  const [error, setError] = useState('');
  const [open, setOpen] = useState(false);
  const load = async (event: Event) => {
    setOpen((event.currentTarget as HTMLDetailsElement).open);
    if (!(event.currentTarget as HTMLDetailsElement).open || meta) return;
    try {
      setMeta(
        await callApi<Record<string, unknown>>('GET', `deployments/${encodeURIComponent(deployment)}/meta`),
      );
      setError('');
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  };
  return (
    <details class="meta" onToggle={load}>
      <summary>Model meta</summary>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      {open && !meta && !error && <p class="loading">Reading meta…</p>}
      {meta && (
        <dl class="facts">
          {Object.entries(meta).flatMap(([key, value]) => [
            <dt key={`${key}-term`}>{key}</dt>,
            <dd key={`${key}-value`}>{showValue(value)}</dd>,
          ])}
        </dl>
      )}
    </details>
  );
}
