/**
 * `SqlSession`: Byzer-SQL statements and notebook cells on an embedded DuckDB, with deployed models
 * as SQL functions. The SQL runs where the session is; model calls go to the cluster it was given
 * (the embedded head, a remote head, or a NATS cluster).
 *
 * A statement that calls models runs in passes (see query-calls.ts): each pass records the calls
 * whose answers are missing, the session makes them concurrently up to each deployment's capacity,
 * and the statement runs again. Statements that change the database run each pass inside a
 * transaction that is rolled back until the pass that has every answer, so nothing happens twice.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBResultReader } from '@duckdb/node-api';
import { type ChatMessage, InvalidArgumentError } from '../core/index.js';
import { loadDuckDBModules } from './load-duckdb.js';
import { type ByzerStatement, parseStatement } from './byzer-statement.js';
import { applySetup, identifier, literal, type SetupDefaults } from './byzer-commands.js';
import { type Cell, parseCells } from './notebook-cells.js';
import type { FunctionContext } from './model-functions.js';
import { QueryCalls, type QueryLimits, type QueryProgress } from './query-calls.js';
import { mentionsName, rewriteByzerSql, substituteVariables } from './rewrite-byzer-sql.js';
import { jsRow } from './result-values.js';
import type { SqlCluster } from './sql-cluster.js';
import type { ModelRegistry } from './model-registry.js';
import { isTrainingCommand, runLoad, runRunLlm, runSave, runTrainLlm } from './statement-actions.js';
import type { SqlTrainer } from './sql-trainer.js';
import { type SourcePosition, splitStatements } from './sql-tokens.js';
import { locatedError } from './located-error.js';

export type { SqlCluster, SqlTrainer };

export interface SqlSessionOptions {
  cluster: SqlCluster;
  /** A DuckDB file to keep tables in. Defaults to an in-memory database. */
  database?: string;
  /**
   * Refuse file access and extensions from SQL (DuckDB `enable_external_access=false`): for SQL that
   * comes from someone else (`/model/predict`). `load`, `save` and `run command` are refused too.
   */
  untrusted?: boolean;
  /** Runs `run command as LLM` with `pretrainedModelType="sft/…"`/`"sfft/…"`; without it they are refused. */
  trainer?: SqlTrainer;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called while a statement's model calls run. */
  onProgress?: (progress: QueryProgress) => void;
}

/** What one statement or cell did. */
export interface StatementResult {
  kind: ByzerStatement['kind'] | 'chat';
  /** Where it starts in the script. */
  position: SourcePosition;
  /** The index of its notebook cell in the script (0 for a script without cells). */
  cell: number;
  columns: string[];
  rows: Record<string, unknown>[];
  /** The view or table it named (`as t`, `load … as t`, `--%output=t`). */
  table?: string;
  /** The answer of a chat cell. */
  answer?: string;
}

const MAX_PASSES = 8;
const QUERY_START = /^\s*(select|with|from|values|table|describe|show|summarize|explain|pivot|unpivot|\()/i;

/**
 * What `open()` hands out: statements with positional parameters (`$1`) on the session's database,
 * without DuckDB's own types (DuckDB is an optional package a client may not have).
 */
export interface SqlConnection {
  run(sql: string, values?: (string | null)[]): Promise<unknown>;
}

export class SqlSession {
  private connection?: DuckDBConnection;
  private instance?: DuckDBInstance;
  private readonly variables = new Map<string, string>();
  private readonly conversations = new Map<string, ChatMessage[]>();
  private duckdbSettings: ReadonlySet<string> = new Set();
  private setupDefaults: SetupDefaults = {};
  private limits: QueryLimits = { maxErrors: { count: 0 }, maxRows: 100_000 };
  private currentCalls = new QueryCalls();
  private models?: ModelRegistry;
  private temporarySequence = 0;

  constructor(private readonly options: SqlSessionOptions) {}

  /** Opens DuckDB and registers the functions. Called by `run`/`execute` when needed. */
  open(): Promise<SqlConnection> {
    return this.openDuckDB();
  }

  private async openDuckDB(): Promise<DuckDBConnection> {
    if (this.connection) return this.connection;
    const config: Record<string, string> = this.options.untrusted
      ? {
          enable_external_access: 'false',
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
          lock_configuration: 'true',
        }
      : {};
    const { duckdb, functions, registry } = await loadDuckDBModules();
    this.instance = await duckdb.DuckDBInstance.create(this.options.database ?? ':memory:', config);
    const connection = await this.instance.connect();
    const context: FunctionContext = { calls: () => this.currentCalls };
    functions.registerHelperFunctions(connection);
    functions.registerGenericModelFunctions(connection, context);
    this.models = new registry.ModelRegistry(connection, this.options.cluster, context);
    const settings = await connection.runAndReadAll('SELECT name FROM duckdb_settings()');
    this.duckdbSettings = new Set(settings.getRows().map((row) => String(row[0]).toLowerCase()));
    this.connection = connection;
    return connection;
  }

  /** Runs a script; returns the rows of its last statement or cell. */
  async run(script: string, options: RunOptions = {}): Promise<Record<string, unknown>[]> {
    const results = await this.execute(script, options);
    return results.at(-1)?.rows ?? [];
  }

  /** Runs a script (statements and notebook cells) and reports every statement. */
  async execute(script: string, options: RunOptions = {}): Promise<StatementResult[]> {
    await this.open();
    const results: StatementResult[] = [];
    for (const [index, cell] of parseCells(script).entries()) {
      if (cell.kind === 'chat') {
        results.push({ ...(await this.chat(cell, options)), cell: index });
        continue;
      }
      for (const statement of splitStatements(cell.text, { line: cell.line, column: 1 })) {
        results.push({
          ...(await this.runStatement(statement.text, statement.position, options)),
          cell: index,
        });
      }
    }
    return results;
  }

  /** Names of the model functions registered so far. */
  modelFunctions(): string[] {
    return this.models?.names() ?? [];
  }

  /** Writes a result's rows to a Parquet file (through a temporary JSON file DuckDB reads back). */
  async exportRows(result: StatementResult, file: string): Promise<void> {
    const connection = await this.openDuckDB();
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-export-'));
    try {
      const json = path.join(directory, 'rows.json');
      await fs.writeFile(json, JSON.stringify(result.rows));
      const columns = result.columns.map(identifier).join(', ') || '*';
      await connection.run(
        `COPY (SELECT ${columns} FROM read_json_auto(${literal(json)})) TO ${literal(file)} (FORMAT parquet)`,
      );
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    this.connection?.closeSync();
    this.instance?.closeSync();
    this.connection = undefined;
    this.instance = undefined;
  }

  private async runStatement(
    text: string,
    position: SourcePosition,
    options: RunOptions,
  ): Promise<Omit<StatementResult, 'cell'>> {
    try {
      const statement = parseStatement(substituteVariables(text, this.variables), this.duckdbSettings);
      return { position, ...(await this.perform(statement, options)) };
    } catch (error) {
      throw locatedError(error, text, position);
    }
  }

  private async perform(
    statement: ByzerStatement,
    options: RunOptions,
  ): Promise<Omit<StatementResult, 'position' | 'cell'>> {
    const connection = this.connection!;
    const empty = { kind: statement.kind, columns: [], rows: [] };
    if (this.options.untrusted && ['load', 'save', 'run-llm', 'setup'].includes(statement.kind)) {
      throw new InvalidArgumentError(`${statement.kind} statements are not allowed here; use select`);
    }
    switch (statement.kind) {
      case 'set':
        this.setVariable(statement.name, statement.value);
        return empty;
      case 'setup':
        this.setupDefaults = applySetup(this.setupDefaults, statement.setting);
        return empty;
      case 'run-llm': {
        if (isTrainingCommand(statement.options)) {
          const row = await runTrainLlm(
            connection,
            this.options.trainer,
            statement.options,
            this.setupDefaults,
          );
          return { kind: statement.kind, columns: Object.keys(row), rows: [row] };
        }
        await runRunLlm(this.options.cluster, this.models!, statement.options, this.setupDefaults);
        return { ...empty, table: statement.options.udfName };
      }
      case 'load':
        await runLoad(connection, statement, () => this.dropTemporary(statement.table));
        return { ...empty, table: statement.table };
      case 'save':
        await runSave(connection, statement);
        return empty;
      case 'select-as':
        return { kind: statement.kind, table: statement.table, ...(await this.selectAs(statement, options)) };
      case 'sql':
        return { kind: statement.kind, ...(await this.query(rewriteByzerSql(statement.sql), options)) };
    }
  }

  private setVariable(name: string, value: string): void {
    if (name === 'max_errors') {
      const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
      const count = /^\s*(\d+)\s*$/.exec(value);
      if (!percent && !count) {
        throw new InvalidArgumentError(
          `max_errors must be a count ('10') or a percentage ('5%'), got ${JSON.stringify(value)}`,
        );
      }
      this.limits = {
        ...this.limits,
        maxErrors: percent ? { fraction: Number(percent[1]) / 100 } : { count: Number(count![1]) },
      };
    } else if (name === 'max_rows') {
      const rows = Number(value);
      if (!Number.isInteger(rows) || rows < 1) {
        throw new InvalidArgumentError(
          `max_rows must be a positive whole number, got ${JSON.stringify(value)}`,
        );
      }
      this.limits = { ...this.limits, maxRows: rows };
    }
    this.variables.set(name, value);
  }

  /** `select … as t`: a view, or a table when it calls models (answers are kept) or reads `t` itself. */
  private async selectAs(statement: { sql: string; table: string }, options: RunOptions) {
    const sql = rewriteByzerSql(statement.sql);
    const readsItself = mentionsName(sql, statement.table);
    const callsModels = await this.models!.callsModels(sql);
    const name = identifier(statement.table);
    if (!callsModels && !readsItself) {
      await this.dropTemporary(statement.table, 'table');
      await this.connection!.run(`CREATE OR REPLACE TEMP VIEW ${name} AS ${sql}`);
    } else {
      const temporary = identifier(`__byzerllm_${++this.temporarySequence}`);
      await this.query(`CREATE TEMP TABLE ${temporary} AS ${sql}`, options, callsModels);
      await this.dropTemporary(statement.table);
      await this.connection!.run(`ALTER TABLE ${temporary} RENAME TO ${name}`);
    }
    return this.query(`SELECT * FROM ${name}`, options, false);
  }

  /** Drops the session's temporary view or table of that name, if any (never a persistent one). */
  private async dropTemporary(table: string, only?: 'view' | 'table'): Promise<void> {
    for (const kind of only ? [only] : ['view', 'table']) {
      try {
        await this.connection!.run(`DROP ${kind.toUpperCase()} IF EXISTS temp.main.${identifier(table)}`);
      } catch {
        // An object of the other kind has that name: the next kind drops it.
      }
    }
  }

  /** Runs one DuckDB statement, in passes when it calls models. */
  private async query(sql: string, options: RunOptions, callsModels?: boolean) {
    const connection = this.connection!;
    if (!(callsModels ?? (await this.models!.callsModels(sql))))
      return readResult(await connection.runAndReadAll(sql));
    const calls = new QueryCalls();
    this.currentCalls = calls;
    const transactional = !QUERY_START.test(sql);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      if (transactional) await connection.run('BEGIN TRANSACTION');
      let result: DuckDBResultReader;
      try {
        result = await connection.runAndReadAll(sql);
      } catch (error) {
        if (transactional) await connection.run('ROLLBACK');
        throw error;
      }
      if (calls.pendingCount === 0) {
        if (transactional) await connection.run('COMMIT');
        calls.checkErrors(this.limits);
        return readResult(result);
      }
      if (transactional) await connection.run('ROLLBACK');
      await calls.resolve({
        caller: this.options.cluster,
        capacityOf: (model) => this.models!.capacityOf(model),
        limits: this.limits,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    }
    throw new InvalidArgumentError(
      `the model requests of this statement kept changing over ${MAX_PASSES} runs; prompts must not depend on random() or now()`,
    );
  }

  private async chat(
    cell: Extract<Cell, { kind: 'chat' }>,
    options: RunOptions,
  ): Promise<Omit<StatementResult, 'cell'>> {
    const position = { line: cell.line, column: 1 };
    let history: ChatMessage[] = [];
    if (cell.input) {
      const earlier = this.conversations.get(cell.input);
      if (!earlier) {
        throw new InvalidArgumentError(
          `line ${cell.line}: --%input=${cell.input}: no earlier chat cell has --%output=${cell.input}`,
        );
      }
      history = earlier;
    }
    const messages: ChatMessage[] = [...history, { role: 'user', content: cell.text }];
    let answer: string;
    try {
      const result = await this.options.cluster.call(
        cell.model,
        'chat',
        { messages },
        options.signal ? { signal: options.signal } : {},
      );
      answer = result.text;
    } catch (error) {
      throw locatedError(error, '', position);
    }
    const conversation: ChatMessage[] = [...messages, { role: 'assistant', content: answer }];
    if (cell.output) {
      this.conversations.set(cell.output, conversation);
      await this.storeConversation(cell.output, conversation);
    }
    return {
      kind: 'chat',
      position,
      columns: ['output'],
      rows: [{ output: answer }],
      answer,
      ...(cell.output ? { table: cell.output } : {}),
    };
  }

  /** `--%output=t` also makes the conversation a table `t(role, content)`. */
  private async storeConversation(name: string, conversation: ChatMessage[]): Promise<void> {
    await this.dropTemporary(name);
    const connection = this.connection!;
    await connection.run(`CREATE TEMP TABLE ${identifier(name)} (role VARCHAR, content VARCHAR)`);
    for (const message of conversation) {
      const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
      await connection.run(`INSERT INTO ${identifier(name)} VALUES ($1, $2)`, [message.role, content]);
    }
  }
}

function readResult(result: DuckDBResultReader) {
  const columns = result.columnNames();
  return { columns, rows: result.getRowObjectsJS().map(jsRow) };
}
