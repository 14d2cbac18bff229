/**
 * A deployment spec on the wire or at rest in KV: its public part in clear, its secret
 * `inferParams` (api keys, tokens; `isSecretParam`) sealed with the cluster key. Without a cluster
 * key the spec travels whole (an open cluster; the head's log warns about it).
 */
import {
  type DeploymentSpec,
  deploymentSpecSchema,
  InvalidArgumentError,
  isSecretParam,
} from '../../core/index.js';
import type { ClusterKey } from './cluster-key.js';
import { summarizeIssues } from './nats-messages.js';

export interface SealedSpec {
  spec: DeploymentSpec;
  sealedSecrets?: string;
}

function sealContext(name: string): string {
  return `deployment:${name}`;
}

export function sealSpec(spec: DeploymentSpec, key: ClusterKey | undefined): SealedSpec {
  if (!key) return { spec };
  const publicParams: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.inferParams)) {
    if (isSecretParam(name)) secrets[name] = value;
    else publicParams[name] = value;
  }
  return {
    spec: { ...spec, inferParams: publicParams },
    sealedSecrets: key.seal(JSON.stringify(secrets), sealContext(spec.name)),
  };
}

/** The whole spec again; throws `InvalidArgumentError` naming the deployment when it cannot. */
export function openSpec(
  sealed: { spec: unknown; sealedSecrets?: string | undefined },
  key: ClusterKey | undefined,
): DeploymentSpec {
  const parsed = deploymentSpecSchema.safeParse(sealed.spec);
  if (!parsed.success)
    throw new InvalidArgumentError(`invalid deployment spec: ${summarizeIssues(parsed.error)}`);
  const spec = parsed.data;
  if (sealed.sealedSecrets === undefined) return spec;
  if (!key) {
    throw new InvalidArgumentError(
      `the secrets of deployment ${spec.name} are sealed with a cluster key; start this process with --cluster_key_file`,
    );
  }
  const secrets: unknown = JSON.parse(key.open(sealed.sealedSecrets, sealContext(spec.name)));
  const record = deploymentSpecSchema.shape.inferParams.safeParse(secrets);
  if (!record.success)
    throw new InvalidArgumentError(`the sealed secrets of deployment ${spec.name} are not key=value strings`);
  return { ...spec, inferParams: { ...spec.inferParams, ...record.data } };
}
