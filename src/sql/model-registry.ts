/**
 * Which SQL functions are deployed models. A function named like a deployment is registered the
 * first time a statement calls it (or by `run command as LLM`): chat models return Byzer's response
 * list, embedding models (meta `embedding_mode`) a FLOAT[] vector.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DeploymentInfo } from '../cluster/index.js';
import type { FunctionContext } from './model-functions.js';
import { registerChatModel, registerEmbeddingModel } from './model-functions.js';
import { calledFunctions } from './rewrite-byzer-sql.js';
import type { SqlCluster } from './sql-cluster.js';

const GENERIC_MODEL_FUNCTIONS = new Set(['llm', 'llm_embed']);
const LIST_TTL_MS = 2_000;

export class ModelRegistry {
  private readonly registered = new Map<string, 'chat' | 'embedding'>();
  private builtins?: Set<string>;
  private deployments?: { at: number; byName: Map<string, DeploymentInfo> };

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly cluster: SqlCluster,
    private readonly context: FunctionContext,
  ) {}

  names(): string[] {
    return [...this.registered.keys()];
  }

  /** Whether `sql` calls a model; registers deployments it calls by name on the way. */
  async callsModels(sql: string): Promise<boolean> {
    let calls = false;
    let refreshed = false;
    for (const name of calledFunctions(sql)) {
      if (GENERIC_MODEL_FUNCTIONS.has(name) || this.registered.has(name)) {
        calls = true;
        continue;
      }
      if ((await this.builtinNames()).has(name)) continue;
      let deployment = (await this.listDeployments('when-old')).get(name);
      if (!deployment && !refreshed) {
        // A name the cached list lacks may have been deployed since (by another client, or just
        // now): list again once per statement before DuckDB reports the function as missing.
        refreshed = true;
        deployment = (await this.listDeployments('always')).get(name);
      }
      if (deployment) {
        await this.register(deployment.name);
        calls = true;
      }
    }
    return calls;
  }

  /** Registers the function of a deployment (once). */
  async register(name: string): Promise<void> {
    const key = name.toLowerCase();
    if (this.registered.has(key)) return;
    const meta = await this.cluster.meta(name);
    const embedding =
      meta.embedding_mode === true || (meta.tasks.includes('embedding') && !meta.tasks.includes('chat'));
    if (embedding) registerEmbeddingModel(this.connection, name, this.context);
    else registerChatModel(this.connection, name, this.context);
    this.registered.set(key, embedding ? 'embedding' : 'chat');
  }

  /** Concurrent calls a deployment takes: num_workers × worker_concurrency (1 when unknown). */
  async capacityOf(model: string): Promise<number> {
    const deployment = (await this.listDeployments('never')).get(model.toLowerCase());
    return deployment ? deployment.numWorkers * deployment.workerConcurrency : 1;
  }

  /** The deployments by lower-cased name; `refresh` says when a cached list is listed again. */
  private async listDeployments(
    refresh: 'never' | 'when-old' | 'always',
  ): Promise<Map<string, DeploymentInfo>> {
    const fresh =
      refresh === 'never' ||
      (refresh === 'when-old' && this.deployments && Date.now() - this.deployments.at < LIST_TTL_MS);
    if (fresh && this.deployments) return this.deployments.byName;
    const list = await this.cluster.list();
    this.deployments = {
      at: Date.now(),
      byName: new Map(list.map((item) => [item.name.toLowerCase(), item])),
    };
    return this.deployments.byName;
  }

  private async builtinNames(): Promise<Set<string>> {
    if (!this.builtins) {
      const result = await this.connection.runAndReadAll(
        "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_name NOT LIKE 'llm%'",
      );
      this.builtins = new Set(result.getRows().map((row) => String(row[0])));
    }
    return this.builtins;
  }
}
