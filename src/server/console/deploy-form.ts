/**
 * The deploy form's body → a deployment spec, validated with the CLI's own `deploymentSpecSchema`.
 * Errors come back per form field (the spec field's name), so the page shows each on its input.
 */
import { z } from 'zod';
import { type DeploymentSpecInput, deploymentSpecSchema } from '../../core/index.js';

/** What the form sends: numbers as typed, infer params as `key=value` lines. */
const deployFormSchema = z.object({
  name: z.string().default(''),
  pretrainedModelType: z.string().default(''),
  inferBackend: z.string().default(''),
  modelPath: z.string().default(''),
  numWorkers: z.string().default('1'),
  workerConcurrency: z.string().default('1'),
  inferParams: z.string().default(''),
});

export type DeployFormResult =
  | { ok: true; spec: DeploymentSpecInput }
  | { ok: false; fieldErrors: Record<string, string> };

export function parseDeployForm(body: unknown): DeployFormResult {
  const form = deployFormSchema.safeParse(body ?? {});
  if (!form.success) return { ok: false, fieldErrors: { form: 'the form sent fields of the wrong type' } };
  const fieldErrors: Record<string, string> = {};
  const inferParams: Record<string, string> = {};
  for (const line of form.data.inferParams.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) {
      fieldErrors.inferParams = `"${trimmed}" is not key=value`;
      continue;
    }
    inferParams[trimmed.slice(0, equals).trim()] = trimmed.slice(equals + 1).trim();
  }
  const candidate = {
    name: form.data.name.trim(),
    pretrainedModelType: form.data.pretrainedModelType.trim(),
    inferBackend: form.data.inferBackend.trim(),
    modelPath: form.data.modelPath.trim(),
    numWorkers: toNumber(form.data.numWorkers),
    workerConcurrency: toNumber(form.data.workerConcurrency),
    inferParams,
  };
  const spec = deploymentSpecSchema.safeParse(candidate);
  if (!spec.success) {
    for (const issue of spec.error.issues) {
      const field = String(issue.path[0] ?? 'form');
      fieldErrors[field] ??= issue.path[0] === undefined ? issue.message : issueMessage(issue);
    }
  }
  if (!spec.success || Object.keys(fieldErrors).length > 0) return { ok: false, fieldErrors };
  return { ok: true, spec: spec.data };
}

/** An empty or non-numeric text stays a string, so the schema names the field instead of guessing. */
function toNumber(text: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== '' && Number.isFinite(value) ? value : trimmed;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected a ${issue.expected}`;
  return issue.message;
}
