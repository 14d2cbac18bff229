import { useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';

const FIELDS = [
  { name: 'name', label: 'Name', hint: 'letters, digits, _ and -' },
  { name: 'pretrainedModelType', label: 'Model type', hint: 'e.g. saas/openai or custom/auto' },
  { name: 'inferBackend', label: 'Infer backend', hint: 'llama_cpp, vllm, transformers; empty for SaaS' },
  { name: 'modelPath', label: 'Model path', hint: 'local models only' },
  { name: 'numWorkers', label: 'Workers', hint: '1 or more' },
  { name: 'workerConcurrency', label: 'Concurrency per worker', hint: '1 or more' },
] as const;
type FieldName = (typeof FIELDS)[number]['name'] | 'inferParams';

const INITIAL: Record<FieldName, string> = {
  name: '',
  pretrainedModelType: 'saas/openai',
  inferBackend: '',
  modelPath: '',
  numWorkers: '1',
  workerConcurrency: '1',
  inferParams: '',
};

/**
 * The deploy form. The server checks it with the CLI's deployment spec and answers errors per
 * field; each is shown under its input and tied to it with aria-describedby.
 */
export function DeployForm({ onDeployed }: { onDeployed: (name: string) => void }) {
  const [values, setValues] = useState(INITIAL);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (name: FieldName, value: string) => setValues({ ...values, [name]: value });
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await callApi('POST', 'deployments', values);
      setErrors({});
      onDeployed(values.name);
      setValues(INITIAL);
    } catch (caught) {
      const error = caught instanceof ApiError ? caught : new ApiError(String(caught), 0);
      setErrors(Object.keys(error.fieldErrors).length > 0 ? error.fieldErrors : { form: error.message });
    } finally {
      setBusy(false);
    }
  };
  const field = (name: FieldName, control: (props: Record<string, unknown>) => preact.JSX.Element) => {
    const error = errors[name];
    return (
      <div class="field">
        {control({
          id: `deploy-${name}`,
          name,
          value: values[name],
          onInput: (event: Event) => set(name, (event.currentTarget as HTMLInputElement).value),
          'aria-invalid': error ? 'true' : undefined,
          'aria-describedby': error ? `deploy-${name}-error` : undefined,
        })}
        {error && (
          <p id={`deploy-${name}-error`} class="field-error">
            {error}
          </p>
        )}
      </div>
    );
  };
  return (
    <section class="card" aria-labelledby="deploy-title">
      <h2 id="deploy-title">Deploy</h2>
      <form onSubmit={submit} class="form-grid" noValidate>
        {FIELDS.map((entry) => (
          <div key={entry.name}>
            <label for={`deploy-${entry.name}`}>{entry.label}</label>
            {field(entry.name, (props) => (
              <input {...props} placeholder={entry.hint} />
            ))}
          </div>
        ))}
        <div class="wide">
          <label for="deploy-inferParams">Infer params (key=value, one a line)</label>
          {field('inferParams', (props) => (
            <textarea {...props} rows={4} placeholder={'saas.api_key=…\nsaas.model=gpt-4o-mini'} />
          ))}
        </div>
        {errors.form && (
          <p class="field-error wide" role="alert">
            {errors.form}
          </p>
        )}
        <div class="wide actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </form>
    </section>
  );
}
