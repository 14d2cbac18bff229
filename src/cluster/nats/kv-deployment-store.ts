/**
 * Deployments persisted in JetStream KV (bucket `byzerllm_deployments`, one key per deployment,
 * `kvKey(name)`: two names never share a key), so a head on any machine of the cluster finds them.
 * Secret `inferParams` are sealed with the cluster key (sealed-spec.ts): a KV reader without the key
 * sees none. Entries are parsed on the way back; an invalid one is skipped with a problem line.
 */
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { DeploymentSpec } from '../../core/index.js';
import type { DeploymentPersistence } from '../head/head.js';
import type { ClusterKey } from './cluster-key.js';
import { KV_DEPLOYMENTS, kvKey } from './nats-protocol.js';
import { openSpec, sealSpec } from './sealed-spec.js';

/** A KV entry: `{ spec, sealedSecrets? }`; entries written before sealing are a bare spec. */
const entrySchema = z.union([
  z.object({ spec: z.record(z.string(), z.unknown()), sealedSecrets: z.string().optional() }),
  z.record(z.string(), z.unknown()).transform((spec) => ({ spec, sealedSecrets: undefined })),
]);

export class KvDeploymentStore implements DeploymentPersistence {
  readonly directory = `NATS KV ${KV_DEPLOYMENTS}`;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly bucket: KV,
    private readonly key: ClusterKey | undefined,
  ) {}

  static async open(connection: NatsConnection, key?: ClusterKey): Promise<KvDeploymentStore> {
    return new KvDeploymentStore(await new Kvm(connection).create(KV_DEPLOYMENTS, { history: 5 }), key);
  }

  async load(): Promise<{ specs: DeploymentSpec[]; problems: string[] }> {
    const specs: DeploymentSpec[] = [];
    const problems: string[] = [];
    for await (const key of await this.bucket.keys()) {
      const entry = await this.bucket.get(key);
      if (entry?.operation !== 'PUT') continue;
      try {
        const parsed = entrySchema.safeParse(JSON.parse(entry.string()));
        if (!parsed.success) throw new Error('not a deployment entry');
        specs.push(openSpec(parsed.data, this.key));
      } catch (error) {
        problems.push(
          `skipping an invalid deployment ${key} in ${this.directory}: ${(error as Error).message}`,
        );
      }
    }
    return { specs, problems };
  }

  save(specs: readonly DeploymentSpec[]): Promise<void> {
    const run = async () => {
      const wanted = new Map(specs.map((spec) => [kvKey(spec.name), spec]));
      for await (const key of await this.bucket.keys()) {
        if (!wanted.has(key)) await this.bucket.delete(key);
      }
      for (const [key, spec] of wanted) await this.bucket.put(key, JSON.stringify(sealSpec(spec, this.key)));
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}
