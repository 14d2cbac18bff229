/**
 * `SimpleByzerLLM`: the `ByzerLLM` API for scripts, with no head process and no HTTP — deployments
 * live in this process (the cluster's `Head` with the in-process worker transport and an in-memory
 * store), and go away with it. Same chat, tools, structured output, prompt functions and `impl`.
 */
import {
  type ClusterApi,
  createInProcessTransport,
  DeploymentStore,
  detectNodeResources,
  Head,
} from '../cluster/index.js';
import type { DeploymentSpec } from '../core/index.js';
import { ByzerLLM } from './byzer-llm.js';

/** Keeps nothing on disk: a script's deployments are its own. */
class MemoryDeploymentStore extends DeploymentStore {
  constructor() {
    super('');
  }
  override async load(): Promise<{ specs: DeploymentSpec[]; problems: string[] }> {
    return { specs: [], problems: [] };
  }
  override async save(): Promise<void> {}
}

export interface SimpleByzerLLMOptions {
  /** Defaults to none; set one with `setupDefaultModelName` or `fromDefaultModel`. */
  defaultModelName?: string;
}

export class SimpleByzerLLM extends ByzerLLM {
  private head: Head | undefined;

  constructor(options: SimpleByzerLLMOptions = {}) {
    super({});
    if (options.defaultModelName) this.setupDefaultModelName(options.defaultModelName);
  }

  static override fromDefaultModel(model: string): SimpleByzerLLM {
    return new SimpleByzerLLM({ defaultModelName: model });
  }

  override cluster(): Promise<ClusterApi> {
    this.clusterPromise ??= (async () => {
      const head = new Head({
        store: new MemoryDeploymentStore(),
        transport: createInProcessTransport(),
        resources: await detectNodeResources(),
      });
      this.head = head;
      return head;
    })();
    return this.clusterPromise;
  }

  /** Stops every deployment of this client. */
  override async close(): Promise<void> {
    const head = this.head;
    this.head = undefined;
    this.clusterPromise = undefined;
    await head?.close();
  }
}
