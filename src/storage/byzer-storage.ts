/**
 * `ByzerStorage`: the original's simple storage API over one table.
 *
 * ```ts
 * const storage = new ByzerStorage('byzerai_store', 'memory', 'memory');
 * await storage.schemaBuilder().addField('_id', DataType.STRING)
 *   .addField('content', DataType.STRING, [FieldOption.ANALYZE])
 *   .addArrayField('vector', DataType.FLOAT).execute();
 * ```
 *
 * By default the store is the head's (`$BYZERLLM_HOME/storage`, started with the head; see
 * `connectStorage`), reached through the cluster the client uses, and text is embedded by the
 * deployment named `emb`. `openLocalStore` gives an in-process store instead (tests, scripts,
 * benchmarks); any `StorageConnection` can be passed as `connection`.
 */
import { createHash } from 'node:crypto';
import { type ClusterApi, connectCluster } from '../cluster/index.js';
import { UnsupportedError } from '../core/index.js';
import { QueryBuilder, SchemaBuilder, type TableHandle, WriteBuilder } from './storage-builders.js';
import type {
  StorageConnection,
  StorageOperation,
  StorageOperations,
  TableLocation,
} from './storage-protocol.js';
import { type EmbedFunction, StorageService } from './storage-service.js';

/** Anything that has a cluster: `ByzerLLM`, `SimpleByzerLLM`. */
export interface ClusterOwner {
  cluster(): Promise<ClusterApi>;
}

export interface ByzerStorageOptions {
  /** The client whose cluster embeds text and (by default) hosts the store. */
  llm?: ClusterOwner;
  /** Where the store is; defaults to the store of `llm`'s cluster (or of the local head). */
  connection?: StorageConnection;
  /** The embedding deployment. Defaults to the cluster's (`storage start --emb_model`), else `emb`. */
  embModel?: string;
}

/** A cluster that also carries storage requests to the store on its head (`HeadClient`, `Head`). */
export interface StorageCarrier {
  storage(operation: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
}

function carriesStorage(cluster: ClusterApi): cluster is ClusterApi & StorageCarrier {
  return typeof (cluster as Partial<StorageCarrier>).storage === 'function';
}

/** The store on the head of `cluster`, through the cluster's connection. */
export function connectStorage(cluster: ClusterApi): StorageConnection {
  if (!carriesStorage(cluster)) {
    throw new UnsupportedError(
      'this cluster connection does not reach a store; connect through the head (address auto or http://…) or pass openLocalStore(…) as connection',
    );
  }
  return {
    call: <Operation extends StorageOperation>(
      operation: Operation,
      body: StorageOperations[Operation][0],
      signal?: AbortSignal,
    ) => cluster.storage(operation, body, signal) as Promise<StorageOperations[Operation][1]>,
  };
}

/** Embeds through a cluster's deployments (`ClusterApi.call(model, 'embedding')`). */
export function embedThrough(cluster: ClusterApi): EmbedFunction {
  return async (model, texts, signal) =>
    (await cluster.call(model, 'embedding', { values: texts }, signal ? { signal } : {})).embeddings;
}

/** An in-process store on `directory`, embedding through `cluster` when given. */
export function openLocalStore(options: { directory: string; cluster?: ClusterApi }): StorageService {
  return new StorageService({
    directory: options.directory,
    ...(options.cluster ? { embed: embedThrough(options.cluster) } : {}),
  });
}

export class ByzerStorage {
  private connectionPromise: Promise<StorageConnection> | undefined;
  readonly location: TableLocation;
  readonly embModel: string | undefined;

  constructor(
    cluster: string,
    database: string,
    table: string,
    private readonly options: ByzerStorageOptions = {},
  ) {
    this.location = { cluster, database, table };
    this.embModel = options.embModel;
    if (options.connection) this.connectionPromise = Promise.resolve(options.connection);
  }

  private connection(): Promise<StorageConnection> {
    this.connectionPromise ??= (async () => {
      const cluster = this.options.llm ? await this.options.llm.cluster() : await connectCluster();
      return connectStorage(cluster);
    })();
    return this.connectionPromise;
  }

  /** Every builder reaches the store through this: the connection is made on first use. */
  private handle(): TableHandle {
    const connection: StorageConnection = {
      call: async (operation, body, signal) => (await this.connection()).call(operation, body, signal),
    };
    return { location: this.location, connection, ...(this.embModel ? { embModel: this.embModel } : {}) };
  }

  schemaBuilder(): SchemaBuilder {
    return new SchemaBuilder(this.handle());
  }

  writeBuilder(): WriteBuilder {
    return new WriteBuilder(this.handle());
  }

  queryBuilder(): QueryBuilder {
    return new QueryBuilder(this.handle());
  }

  /** Makes the written rows fully indexed (the original's `commit()`; writes are durable already). */
  async commit(): Promise<boolean> {
    return (await (await this.connection()).call('commit', this.location)).committed;
  }

  async deleteByIds(ids: (string | number)[]): Promise<number> {
    return (await (await this.connection()).call('deleteByIds', { ...this.location, ids })).deleted;
  }

  /** Deletes every row; the table and its schema stay. */
  async truncateTable(): Promise<number> {
    return (await (await this.connection()).call('truncate', this.location)).deleted;
  }

  /** Removes the table and its data. `false` when there was none. */
  async drop(): Promise<boolean> {
    return (await (await this.connection()).call('drop', this.location)).dropped;
  }

  /** The schema string, vector dimensions and row count of the table. */
  async describe() {
    return (await this.connection()).call('describeTable', this.location);
  }

  /** The embedding of `text` by this storage's embedding model. */
  async emb(text: string): Promise<number[]> {
    const { embeddings } = await (await this.connection()).call('embed', {
      embModel: this.embModel,
      texts: [text],
    });
    return embeddings[0]!;
  }

  /**
   * Stores memories in this table with the original's shape (`_id`, `name`, `content` analyzed,
   * `raw_content` stored only, `summary` vector, `created_time` sortable), creating it if needed.
   * The same memory written twice keeps one row (`_id` is `<database>_<table>_<md5>`).
   */
  async quickMemory(memories: string[]): Promise<number> {
    await this.schemaBuilder()
      .addField('_id', 'string')
      .addField('name', 'string')
      .addField('content', 'string', ['analyze'])
      .addField('raw_content', 'string', ['no_index'])
      .addArrayField('summary', 'float')
      .addField('created_time', 'long', ['sort'])
      .execute();
    const name = `${this.location.database}_${this.location.table}`;
    const items = memories.map((memory) => ({
      _id: `${name}_${createHash('md5').update(memory).digest('hex')}`,
      name,
      content: memory,
      raw_content: memory,
      summary: memory,
      created_time: Date.now(),
    }));
    if (items.length === 0) return 0;
    await this.deleteByIds(items.map((item) => item._id));
    const written = await this.writeBuilder().addItems(items, ['summary'], ['content']).execute();
    await this.commit();
    return written;
  }
}
