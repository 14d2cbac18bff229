/**
 * Which SQL functions are deployed models. A function named like a deployment, or like a route of a
 * cluster that lists its routes, is registered the first time a statement calls it (or by `run
 * command as LLM`): chat models return Byzer's response list, embedding models (meta
 * `embedding_mode`) a FLOAT[] vector.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { deploymentsOf, parseRouteConfig } from '../cluster/index.js';
import type { FunctionContext } from './model-functions.js';
import { registerChatModel, registerEmbeddingModel } from './model-functions.js';
import { calledFunctions } from './rewrite-byzer-sql.js';
import type { SqlCluster } from './sql-cluster.js';

const GENERIC_MODEL_FUNCTIONS = new Set(['llm', 'llm_embed']);
const LIST_TTL_MS = 2_000;

/** A name a statement may call: a deployment or a route, and the concurrent calls it takes. */
interface CallableModel {
  name: string;
  capacity: number;
}

export class ModelRegistry {
  private readonly registered = new Map<string, 'chat' | 'embedding'>();
  private builtins?: Set<string>;
  private models?: { at: number; byName: Map<string, CallableModel> };

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
      let model = (await this.listModels('when-old')).get(name);
      if (!model && !refreshed) {
        // A name the cached list lacks may have been deployed (or routed) since, by another client
        // or just now: list again once per statement before DuckDB reports the function as missing.
        refreshed = true;
        model = (await this.listModels('always')).get(name);
      }
      if (model) {
        await this.register(model.name);
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

  /**
   * Concurrent calls a model takes: a deployment's num_workers × worker_concurrency; a route's, the
   * largest of its deployments' (each call runs on one of them at a time); 1 when unknown.
   */
  async capacityOf(model: string): Promise<number> {
    return (await this.listModels('never')).get(model.toLowerCase())?.capacity ?? 1;
  }

  /**
   * The deployments and routes by lower-cased name (a route wins over a deployment of its name, as
   * it does at the gateway); `refresh` says when a cached list is listed again.
   */
  private async listModels(refresh: 'never' | 'when-old' | 'always'): Promise<Map<string, CallableModel>> {
    const fresh =
      refresh === 'never' ||
      (refresh === 'when-old' && this.models && Date.now() - this.models.at < LIST_TTL_MS);
    if (fresh && this.models) return this.models.byName;
    const [deployments, routes] = await Promise.all([this.cluster.list(), this.cluster.routes?.list() ?? []]);
    const byName = new Map<string, CallableModel>(
      deployments.map((item) => [
        item.name.toLowerCase(),
        { name: item.name, capacity: item.numWorkers * item.workerConcurrency },
      ]),
    );
    for (const route of routes) {
      const targets = deploymentsOf(parseRouteConfig(route.config, `route ${route.name}`));
      const capacities = targets.map((target) => byName.get(target.toLowerCase())?.capacity ?? 1);
      byName.set(route.name.toLowerCase(), { name: route.name, capacity: Math.max(1, ...capacities) });
    }
    this.models = { at: Date.now(), byName };
    return byName;
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
