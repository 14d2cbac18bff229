import {
  type DeploymentSpec,
  type DeploymentSpecInput,
  deploymentSpecSchema,
  InvalidArgumentError,
} from '../../core/index.js';

/**
 * A deploy request's spec, validated in full; the first problem becomes one error that names the
 * field and the value given (`invalid numWorkers 0: …`), as every edge reports it.
 */
export function parseSpec(input: DeploymentSpecInput): DeploymentSpec {
  const parsed = deploymentSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'spec';
  const value = issue.path.reduce<unknown>(
    (current, key) => (current as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey],
    input,
  );
  throw new InvalidArgumentError(
    `invalid ${field}${value === undefined ? '' : ` ${JSON.stringify(value)}`}: ${issue.message}`,
  );
}
