/**
 * The store: LanceDB tables under one directory, reached through the storage protocol.
 *
 * `<directory>/<cluster>/<database>/<table>.lance` is one LanceDB table (the head uses
 * `$BYZERLLM_HOME/storage`). `call(operation, body)` validates the body with the operation's zod
 * schema and runs it; every failure is a `ByzerLLMError` naming the bad value. Writes check every
 * item and embed every vector before the one LanceDB commit that adds them, so a failed batch leaves
 * the table as it was. Text is embedded through the injected `embed` function (the cluster's `emb`
 * deployment in the head), in batches.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Connection } from '@lancedb/lancedb';
import type { z } from 'zod';
import { InvalidArgumentError, NotFoundError, toByzerLLMError } from '../core/index.js';
import { ClusterSettingsFiles } from './cluster-settings.js';
import { DIMENSIONS_METADATA_KEY, loadLance, SCHEMA_METADATA_KEY, toArrowSchema } from './arrow-schema.js';
import { filterToSql, idsToSql } from './filter-sql.js';
import type { OpenTable } from './open-table.js';
import { rowsToArrowTable } from './arrow-columns.js';
import { runQuery } from './run-query.js';
import { itemsToRows } from './write-items.js';
import {
  type ClusterDescription,
  configureClusterSchema,
  createTableSchema,
  deleteByFilterSchema,
  deleteByIdsSchema,
  embedSchema,
  listTablesSchema,
  locationSchema,
  querySchema,
  STORAGE_OPERATIONS,
  type StorageConnection,
  type StorageOperation,
  type StorageOperations,
  type TableLocation,
  writeSchema,
} from './storage-protocol.js';
import { isVectorType, parseSchema } from './table-schema.js';

export type EmbedFunction = (model: string, texts: string[], signal?: AbortSignal) => Promise<number[][]>;

export interface StorageServiceOptions {
  /** Root folder of every cluster's data. */
  directory: string;
  /** Embeds text for vector fields and vector queries. Without it, vectors must be given as numbers. */
  embed?: EmbedFunction;
  /** The deployment used when a request names none. Defaults to `emb`. */
  defaultEmbModel?: string;
  /** Texts per embedding call. Defaults to 64. */
  embedBatchSize?: number;
}

const MAX_BODY_DEPTH = 32;

/** Whether JSON-like `value` nests deeper than `limit` (checked without recursion). */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const inner of Object.values(current))
      if (inner !== null && typeof inner === 'object') stack.push([inner, depth + 1]);
  }
  return false;
}

function parse<Schema extends z.ZodType>(schema: Schema, body: unknown, operation: string): z.output<Schema> {
  // zod recurses into nested filters (the only recursive part of the protocol): bound their depth
  // first, so hostile nesting cannot exhaust the stack.
  const filter =
    body !== null && typeof body === 'object' ? (body as { filter?: unknown }).filter : undefined;
  if (nestsDeeperThan(filter, MAX_BODY_DEPTH)) {
    throw new InvalidArgumentError(
      `invalid ${operation} request: nested deeper than ${MAX_BODY_DEPTH} levels`,
    );
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new InvalidArgumentError(`invalid ${operation} request: ${where}: ${issue.message}`);
}

export class StorageService implements StorageConnection {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly tables = new Map<string, Promise<OpenTable>>();
  private readonly settings: ClusterSettingsFiles;

  constructor(private readonly options: StorageServiceOptions) {
    this.settings = new ClusterSettingsFiles(options.directory);
  }

  get directory(): string {
    return this.options.directory;
  }

  async call<Operation extends StorageOperation>(
    operation: Operation,
    body: StorageOperations[Operation][0],
    signal?: AbortSignal,
  ): Promise<StorageOperations[Operation][1]> {
    if (!STORAGE_OPERATIONS.includes(operation)) {
      throw new InvalidArgumentError(
        `unknown storage operation ${JSON.stringify(operation)}; allowed: ${STORAGE_OPERATIONS.join(', ')}`,
      );
    }
    try {
      return (await this.dispatch(operation, body, signal)) as StorageOperations[Operation][1];
    } catch (error) {
      throw toByzerLLMError(error);
    }
  }

  private async dispatch(operation: StorageOperation, body: unknown, signal?: AbortSignal): Promise<unknown> {
    switch (operation) {
      case 'createTable':
        return this.createTable(parse(createTableSchema, body, operation), signal);
      case 'describeTable': {
        const open = await this.openTable(parse(locationSchema, body, operation));
        return {
          schema: (await open.table.schema()).metadata.get(SCHEMA_METADATA_KEY) ?? '',
          vectorDimensions: open.vectorDimensions,
          rows: await open.table.countRows(),
        };
      }
      case 'listTables':
        return this.listTables(parse(listTablesSchema, body, operation).cluster);
      case 'write':
        return this.write(parse(writeSchema, body, operation), signal);
      case 'query': {
        const request = parse(querySchema, body, operation);
        const open = await this.openTable(request);
        return {
          rows: await runQuery(open, request, async (text) => {
            const [vector] = await this.embedTexts(request.cluster, request.embModel, [text], signal);
            return vector!;
          }),
        };
      }
      case 'deleteByFilter': {
        const request = parse(deleteByFilterSchema, body, operation);
        const open = await this.openTable(request);
        return this.deleteWhere(open, filterToSql(open.schema, request.filter));
      }
      case 'deleteByIds': {
        const request = parse(deleteByIdsSchema, body, operation);
        const open = await this.openTable(request);
        return this.deleteWhere(open, idsToSql(open.schema, request.ids));
      }
      case 'truncate':
        return this.deleteWhere(await this.openTable(parse(locationSchema, body, operation)), 'TRUE');
      case 'drop':
        return this.drop(parse(locationSchema, body, operation));
      case 'commit': {
        const open = await this.openTable(parse(locationSchema, body, operation));
        await open.table.optimize(); // folds new rows into the full-text indexes
        return { committed: true };
      }
      case 'embed': {
        const request = parse(embedSchema, body, operation);
        return {
          embeddings: await this.embedTexts(request.cluster, request.embModel, request.texts, signal),
        };
      }
      case 'describeCluster':
        return this.describeCluster(parse(listTablesSchema, body, operation).cluster);
      case 'configureCluster':
        return this.configureCluster(parse(configureClusterSchema, body, operation));
      case 'exportCluster':
        return this.exportCluster(parse(listTablesSchema, body, operation).cluster);
    }
  }

  private async describeCluster(cluster: string): Promise<ClusterDescription> {
    const settings = await this.settings.read(cluster);
    const tables = [];
    for (const location of (await this.listTables(cluster)).tables) {
      const open = await this.openTable(location);
      tables.push({ database: location.database, table: location.table, rows: await open.table.countRows() });
    }
    return {
      cluster,
      directory: path.join(this.options.directory, cluster),
      started: settings.started,
      embModel: settings.embModel ?? this.options.defaultEmbModel ?? 'emb',
      embDeployed: settings.embDeployed,
      tables,
    };
  }

  private async configureCluster(
    request: z.output<typeof configureClusterSchema>,
  ): Promise<ClusterDescription> {
    const settings = { ...(await this.settings.read(request.cluster)) };
    if (request.started !== undefined) {
      settings.started = request.started;
      if (request.started) settings.startedAt = new Date().toISOString();
    }
    if (request.embModel === null) delete settings.embModel;
    else if (request.embModel !== undefined) settings.embModel = request.embModel;
    if (request.embDeployed !== undefined) settings.embDeployed = request.embDeployed;
    await this.settings.write(settings);
    return this.describeCluster(request.cluster);
  }

  private async exportCluster(cluster: string): Promise<{ file: string }> {
    const settings = { ...(await this.settings.read(cluster)) };
    const tables = [];
    for (const location of (await this.listTables(cluster)).tables) {
      const open = await this.openTable(location);
      tables.push({
        database: location.database,
        table: location.table,
        schema: (await open.table.schema()).metadata.get(SCHEMA_METADATA_KEY) ?? '',
        rows: await open.table.countRows(),
      });
    }
    return { file: await this.settings.write({ ...settings, tables, exportedAt: new Date().toISOString() }) };
  }

  private connection(location: Pick<TableLocation, 'cluster' | 'database'>): Promise<Connection> {
    const folder = path.join(this.options.directory, location.cluster, location.database);
    let connection = this.connections.get(folder);
    if (!connection) {
      connection = loadLance().then(({ lancedb }) => lancedb.connect(folder));
      connection.catch(() => this.connections.delete(folder));
      this.connections.set(folder, connection);
    }
    return connection;
  }

  private static key(location: TableLocation): string {
    return `${location.cluster}/${location.database}/${location.table}`;
  }

  /** The table, opened once and cached; `not_found` naming it when it does not exist. */
  private async openTable(location: TableLocation): Promise<OpenTable> {
    const key = StorageService.key(location);
    let open = this.tables.get(key);
    if (!open) {
      open = (async () => {
        const connection = await this.connection(location);
        const names = await connection.tableNames();
        if (!names.includes(location.table)) {
          throw new NotFoundError(
            `no table ${location.table} in ${location.cluster}/${location.database}; create it with schemaBuilder().execute()`,
            { details: { resource: 'table', param: 'table' } },
          );
        }
        const table = await connection.openTable(location.table);
        const arrowSchema = await table.schema();
        const metadata = arrowSchema.metadata;
        const schema = parseSchema(metadata.get(SCHEMA_METADATA_KEY));
        const vectorDimensions = JSON.parse(metadata.get(DIMENSIONS_METADATA_KEY) ?? '{}') as Record<
          string,
          number
        >;
        return { table, arrowSchema, schema, vectorDimensions };
      })();
      open.catch(() => this.tables.delete(key));
      this.tables.set(key, open);
    }
    return open;
  }

  private async createTable(request: z.output<typeof createTableSchema>, signal?: AbortSignal) {
    const schema = parseSchema(request.schema);
    const vectorFields = schema.fields.filter((field) => isVectorType(field.type));
    for (const name of Object.keys(request.vectorDimensions ?? {})) {
      if (!vectorFields.some((field) => field.name === name)) {
        throw new InvalidArgumentError(
          `vectorDimensions names ${name}, which is not an array(float) field of the schema`,
        );
      }
    }
    const connection = await this.connection(request);
    if ((await connection.tableNames()).includes(request.table)) return { created: false };
    const vectorDimensions: Record<string, number> = { ...request.vectorDimensions };
    const missing = vectorFields.filter((field) => vectorDimensions[field.name] === undefined);
    if (missing.length > 0) {
      const [probe] = await this.embedTexts(request.cluster, request.embModel, ['dimension'], signal);
      for (const field of missing) vectorDimensions[field.name] = probe!.length;
    }
    const { lancedb, arrow } = await loadLance();
    try {
      const table = await connection.createEmptyTable(
        request.table,
        toArrowSchema(arrow, schema, vectorDimensions),
      );
      for (const field of schema.fields.filter((candidate) => candidate.options.includes('analyze'))) {
        await table.createIndex(field.name, {
          config: lancedb.Index.fts({
            baseTokenizer: 'whitespace',
            lowercase: true,
            stem: false,
            removeStopWords: false,
          }),
        });
      }
    } catch (error) {
      if (/already exists/i.test(String(error))) return { created: false };
      throw error;
    }
    return { created: true };
  }

  private async listTables(cluster: string) {
    const root = path.join(this.options.directory, cluster);
    const databases = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
    const tables: TableLocation[] = [];
    for (const database of databases.filter((entry) => entry.isDirectory())) {
      const connection = await this.connection({ cluster, database: database.name });
      for (const table of await connection.tableNames())
        tables.push({ cluster, database: database.name, table });
    }
    return { tables };
  }

  private async write(request: z.output<typeof writeSchema>, signal?: AbortSignal) {
    const open = await this.openTable(request);
    const rows = await itemsToRows(open, request, (texts) =>
      this.embedTexts(request.cluster, request.embModel, texts, signal),
    );
    const { arrow } = await loadLance();
    await open.table.add(rowsToArrowTable(arrow, open.arrowSchema, rows)); // one commit: all rows or none
    return { written: rows.length };
  }

  private async deleteWhere(open: OpenTable, predicate: string) {
    const before = await open.table.countRows();
    await open.table.delete(predicate);
    return { deleted: before - (await open.table.countRows()) };
  }

  private async drop(location: TableLocation) {
    const connection = await this.connection(location);
    this.tables.delete(StorageService.key(location));
    if (!(await connection.tableNames()).includes(location.table)) return { dropped: false };
    await connection.dropTable(location.table);
    return { dropped: true };
  }

  /**
   * Embeds texts in batches through the injected function; one vector per text. The model is the
   * request's, else the cluster's (`storage start --emb_model`), else the store's default (`emb`).
   */
  async embedTexts(
    cluster: string | undefined,
    model: string | undefined,
    texts: string[],
    signal?: AbortSignal,
  ): Promise<number[][]> {
    const embed = this.options.embed;
    const configured = cluster === undefined ? undefined : (await this.settings.read(cluster)).embModel;
    const name = model ?? configured ?? this.options.defaultEmbModel ?? 'emb';
    if (!embed) {
      throw new InvalidArgumentError(
        `this store has no embedding model to turn text into vectors: give vectors as numbers (and vectorDimensions when creating a table), or connect the store to a cluster with a deployment named ${name}`,
      );
    }
    const size = this.options.embedBatchSize ?? 64;
    const batches: string[][] = [];
    for (let start = 0; start < texts.length; start += size) batches.push(texts.slice(start, start + size));
    // A few batches in flight keep every worker of the deployment busy without flooding its queue.
    const results: number[][][] = new Array(batches.length);
    let next = 0;
    const lane = async () => {
      while (next < batches.length) {
        const index = next++;
        results[index] = await embed(name, batches[index]!, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, batches.length) }, lane));
    const vectors = results.flat();
    if (vectors.length !== texts.length) {
      throw new InvalidArgumentError(
        `embedding model ${name} answered ${vectors.length} vectors for ${texts.length} texts`,
      );
    }
    return vectors;
  }

  /** Closes cached tables and connections; the data stays on disk. */
  close(): void {
    for (const open of this.tables.values()) void open.then((entry) => entry.table.close()).catch(() => {});
    for (const connection of this.connections.values())
      void connection.then((entry) => entry.close()).catch(() => {});
    this.tables.clear();
    this.connections.clear();
  }
}
