import { isDeepStrictEqual } from 'node:util';
import {
  type DeploymentSpec,
  type DeploymentSpecInput,
  deploymentSpecSchema,
  InvalidArgumentError,
  PINNABLE_KINDS,
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

/** A pinned call kind must name one of the deployment's workers (the schema cannot see `numWorkers`). */
export function checkPinning(spec: DeploymentSpec): void {
  for (const kind of PINNABLE_KINDS) {
    const index = spec.pinning[kind];
    if (index !== undefined && index >= spec.numWorkers) {
      throw new InvalidArgumentError(
        `pinning ${kind}=${index} points past the last worker (deployment ${spec.name} has workers 0-${spec.numWorkers - 1})`,
      );
    }
  }
}

/**
 * How a deploy request's spec differs from the running deployment of its name, for the warning of
 * an `already_deployed` answer (Byzer-LLM's deploy leaves an existing deployment as it is, so a
 * different spec under a taken name would otherwise go unnoticed). Fields named with both values;
 * inside objects (`inferParams`, …) only the keys are named, since values there may be secrets.
 * The one warning, or none when they are the same.
 */
export function specConflict(running: DeploymentSpec, requested: DeploymentSpec): string[] {
  const differences: string[] = [];
  for (const key of unionKeys(running, requested)) {
    const was: unknown = running[key];
    const asked: unknown = requested[key];
    if (isDeepStrictEqual(was, asked)) continue;
    if (isPlainObject(was) || isPlainObject(asked)) {
      const inner = unionKeys(asPlain(was), asPlain(asked)).filter(
        (name) => !isDeepStrictEqual(asPlain(was)[name], asPlain(asked)[name]),
      );
      differences.push(...inner.map((name) => `${key}.${name}`));
    } else {
      differences.push(`${key} ${JSON.stringify(was)} (this deploy asked for ${JSON.stringify(asked)})`);
    }
  }
  if (differences.length === 0) return [];
  return [
    `deployment ${running.name} exists with a different spec: ${differences.join(', ')}; nothing was changed (undeploy it first to deploy this spec under that name)`,
  ];
}

function unionKeys<Value extends object>(left: Value, right: Value): Array<keyof Value & string> {
  return [...new Set([...Object.keys(left), ...Object.keys(right)])] as Array<keyof Value & string>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asPlain(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}
