/**
 * Deployments persisted in JetStream KV (bucket `byzerllm_deployments`, one key per deployment), so
 * a head on any machine of the cluster finds them. Secrets travel with the spec: protect the NATS
 * server with credentials and TLS when it is reachable beyond trusted machines.
 */
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type DeploymentSpec, deploymentSpecSchema } from '../../core/index.js';
import type { DeploymentPersistence } from '../head/head.js';
import { KV_DEPLOYMENTS, subjectToken } from './nats-protocol.js';

export class KvDeploymentStore implements DeploymentPersistence {
  readonly directory = `NATS KV ${KV_DEPLOYMENTS}`;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly bucket: KV) {}

  static async open(connection: NatsConnection): Promise<KvDeploymentStore> {
    return new KvDeploymentStore(await new Kvm(connection).create(KV_DEPLOYMENTS, { history: 5 }));
  }

  async load(): Promise<{ specs: DeploymentSpec[]; problems: string[] }> {
    const specs: DeploymentSpec[] = [];
    const problems: string[] = [];
    for await (const key of await this.bucket.keys()) {
      const entry = await this.bucket.get(key);
      if (entry?.operation !== 'PUT') continue;
      const parsed = deploymentSpecSchema.safeParse(entry.json());
      if (parsed.success) specs.push(parsed.data);
      else
        problems.push(`skipping an invalid deployment ${key} in ${this.directory}: ${parsed.error.message}`);
    }
    return { specs, problems };
  }

  save(specs: readonly DeploymentSpec[]): Promise<void> {
    const run = async () => {
      const wanted = new Map(specs.map((spec) => [subjectToken(spec.name), spec]));
      for await (const key of await this.bucket.keys()) {
        if (!wanted.has(key)) await this.bucket.delete(key);
      }
      for (const [key, spec] of wanted) await this.bucket.put(key, JSON.stringify(spec));
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}
