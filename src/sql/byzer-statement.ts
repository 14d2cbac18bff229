/**
 * Byzer-SQL's own statement forms, recognised by their first tokens and parsed into data. Anything
 * else is DuckDB SQL and passes through (after the Byzer spellings of `rewrite-byzer-sql.ts`).
 *
 * - `load <format>.\`path\` [where k="v" and …] as t`
 * - `save [overwrite|append] t as <format>.\`path\` [where k="v" and …]`
 * - `set k = '''…''' | "…" | '…' | word`
 * - `!byzerllm setup single` / `!byzerllm setup "k=v"`
 * - `run command as LLM.\`\` where action="infer" and udfName=… and …`
 * - `select … as t` (the trailing `as t` names a view; see `trailingViewName`)
 */
import { type Token, tokenize } from './sql-tokens.js';

export const LOAD_FORMATS = ['text', 'json', 'jsonl', 'csv', 'parquet'] as const;
export type LoadFormat = (typeof LOAD_FORMATS)[number];
export const SAVE_FORMATS = ['parquet', 'json', 'csv'] as const;
export type SaveFormat = (typeof SAVE_FORMATS)[number];

export type ByzerStatement =
  | { kind: 'load'; format: LoadFormat; path: string; options: Record<string, string>; table: string }
  | {
      kind: 'save';
      mode: 'overwrite' | 'append';
      table: string;
      format: SaveFormat;
      path: string;
      options: Record<string, string>;
    }
  | { kind: 'set'; name: string; value: string }
  | { kind: 'setup'; setting: string }
  | { kind: 'run-llm'; options: Record<string, string> }
  /** A query whose result becomes view (or table) `table`; `sql` is the query without `as t`. */
  | { kind: 'select-as'; sql: string; table: string }
  | { kind: 'sql'; sql: string };

/** A statement that is not what its first words promise: `offset` points at the bad token. */
export class StatementSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Parses one statement (no trailing `;`). Throws `StatementSyntaxError` with an offset. */
export function parseStatement(
  text: string,
  duckdbSettings: ReadonlySet<string> = new Set(),
): ByzerStatement {
  const tokens = tokenize(text);
  const reader = new TokenReader(tokens, text.length);
  const first = tokens[0]?.kind === 'word' ? tokens[0].value.toLowerCase() : '';
  if (first === 'load') return parseLoad(reader);
  if (first === 'save') return parseSave(reader);
  if (first === 'set' && isByzerSet(tokens, duckdbSettings)) return parseSet(reader);
  if (tokens[0]?.text === '!') return parseSetup(reader);
  if (first === 'run' && tokens[1]?.value.toLowerCase() === 'command') return parseRunCommand(reader);
  const table = trailingViewName(tokens);
  if (table)
    return { kind: 'select-as', sql: text.slice(0, table.asToken.start).trimEnd(), table: table.name };
  return { kind: 'sql', sql: text };
}

/**
 * DuckDB has its own `SET setting = value` (and `SET VARIABLE`). Byzer's `set k=…` is ours unless the
 * name is one of DuckDB's settings (`duckdb_settings()`, passed in by the session) or a scope word.
 */
function isByzerSet(tokens: Token[], duckdbSettings: ReadonlySet<string>): boolean {
  const name = tokens[1];
  if (!name || (name.kind !== 'word' && name.kind !== 'backtick')) return false;
  const lower = name.value.toLowerCase();
  if (name.kind === 'word' && (duckdbSettings.has(lower) || SET_SCOPE_WORDS.has(lower))) return false;
  return true;
}

const SET_SCOPE_WORDS = new Set(['global', 'session', 'local', 'variable']);

/** A cursor over tokens that raises errors naming what it expected and where. */
class TokenReader {
  private index = 0;
  constructor(
    readonly tokens: Token[],
    private readonly length: number,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  next(expected: string): Token {
    const token = this.tokens[this.index];
    if (!token)
      throw new StatementSyntaxError(`expected ${expected}, found the end of the statement`, this.length);
    this.index++;
    return token;
  }

  keyword(word: string): void {
    const token = this.next(`"${word}"`);
    if (token.kind !== 'word' || token.value.toLowerCase() !== word) this.fail(token, `"${word}"`);
  }

  symbol(symbol: string): void {
    const token = this.next(`"${symbol}"`);
    if (token.text !== symbol) this.fail(token, `"${symbol}"`);
  }

  isKeyword(word: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.value.toLowerCase() === word;
  }

  name(what: string): string {
    const token = this.next(what);
    if (token.kind !== 'word' && token.kind !== 'backtick') this.fail(token, what);
    return token.value;
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  end(): void {
    const token = this.peek();
    if (token) this.fail(token, 'the end of the statement (";")');
  }

  fail(token: Token, expected: string): never {
    throw new StatementSyntaxError(`expected ${expected}, found ${JSON.stringify(token.text)}`, token.start);
  }
}

function parseLoad(reader: TokenReader): ByzerStatement {
  reader.keyword('load');
  const { format, path } = formatAndPath(reader, LOAD_FORMATS, 'load');
  const options = reader.isKeyword('where') ? whereOptions(reader) : {};
  reader.keyword('as');
  const table = reader.name('a table name after "as"');
  reader.end();
  return { kind: 'load', format: format as LoadFormat, path, options, table };
}

function parseSave(reader: TokenReader): ByzerStatement {
  reader.keyword('save');
  let mode: 'overwrite' | 'append' = 'overwrite';
  if (reader.isKeyword('overwrite') || reader.isKeyword('append')) {
    mode = reader.next('a save mode').value.toLowerCase() as 'overwrite' | 'append';
  }
  const table = reader.name('the table to save');
  reader.keyword('as');
  const { format, path } = formatAndPath(reader, SAVE_FORMATS, 'save');
  const options = reader.isKeyword('where') ? whereOptions(reader) : {};
  reader.end();
  return { kind: 'save', mode, table, format: format as SaveFormat, path, options };
}

function formatAndPath(reader: TokenReader, formats: readonly string[], verb: string) {
  const formatToken = reader.next(`a format (${formats.join(', ')})`);
  // `csv.data` lexes as one dotted word: the part after the dot is a path without backticks.
  const [format = '', unquotedPath] = formatToken.value.toLowerCase().split(/\.(.*)/s);
  if (formatToken.kind !== 'word' || !formats.includes(format)) {
    throw new StatementSyntaxError(
      `unknown ${verb} format ${JSON.stringify(formatToken.text.split('.')[0])}; allowed: ${formats.join(', ')}`,
      formatToken.start,
    );
  }
  if (unquotedPath !== undefined) {
    throw new StatementSyntaxError(
      `expected a path in backticks after "${format}.", e.g. ${format}.\`data.${format}\`, found ${JSON.stringify(unquotedPath)}`,
      formatToken.start + format.length + 1,
    );
  }
  reader.symbol('.');
  const pathToken = reader.next('a path in backticks, e.g. `data.csv`');
  if (pathToken.kind !== 'backtick') reader.fail(pathToken, 'a path in backticks, e.g. `data.csv`');
  return { format, path: pathToken.value };
}

/** `where k="v" and \`k.x\`='v' and k=3` → options. Keys keep their case; values are strings. */
function whereOptions(reader: TokenReader): Record<string, string> {
  reader.keyword('where');
  const options: Record<string, string> = {};
  for (;;) {
    const key = reader.name('an option name');
    reader.symbol('=');
    const valueToken = reader.next(`a value for ${key}`);
    if (!['string', 'double-quoted', 'number', 'word'].includes(valueToken.kind)) {
      reader.fail(valueToken, `a quoted value for ${key}`);
    }
    options[key] = valueToken.value;
    if (!reader.isKeyword('and')) break;
    reader.keyword('and');
  }
  return options;
}

function parseSet(reader: TokenReader): ByzerStatement {
  reader.keyword('set');
  const name = reader.name('a variable name');
  reader.symbol('=');
  const valueToken = reader.next(`a value for ${name}`);
  if (!['string', 'double-quoted', 'number', 'word'].includes(valueToken.kind)) {
    reader.fail(valueToken, `a value for ${name} ('''…''', "…", '…' or a word)`);
  }
  // Byzer allows `set k=v where type="text"`; every type we support is text.
  if (reader.isKeyword('where')) whereOptions(reader);
  reader.end();
  return { kind: 'set', name, value: valueToken.value };
}

function parseSetup(reader: TokenReader): ByzerStatement {
  reader.symbol('!');
  reader.keyword('byzerllm');
  reader.keyword('setup');
  const token = reader.next('"single" or a quoted "key=value"');
  if (!['word', 'string', 'double-quoted'].includes(token.kind)) {
    reader.fail(token, '"single" or a quoted "key=value"');
  }
  reader.end();
  return { kind: 'setup', setting: token.value };
}

function parseRunCommand(reader: TokenReader): ByzerStatement {
  reader.keyword('run');
  reader.keyword('command');
  reader.keyword('as');
  const target = reader.next('"LLM"');
  if (target.kind !== 'word' || target.value.toUpperCase() !== 'LLM') {
    throw new StatementSyntaxError(
      `unknown command ${JSON.stringify(target.text)}; the only command is LLM ("run command as LLM.\`\` where …")`,
      target.start,
    );
  }
  reader.symbol('.');
  const path = reader.next('LLM.`` (an empty path in backticks)');
  if (path.kind !== 'backtick') reader.fail(path, 'LLM.`` (an empty path in backticks)');
  if (reader.atEnd()) throw new StatementSyntaxError('expected "where action=… and udfName=…"', path.end);
  const options = whereOptions(reader);
  reader.end();
  return { kind: 'run-llm', options };
}

/**
 * The name a `select … as t` statement gives its result, or undefined for plain SQL. The trailing
 * `as t` names a view when it follows a column alias (`… as response as t`) or a FROM clause
 * (`… from t1 as t`); `select 1 as a` keeps DuckDB's meaning (a column alias).
 */
export function trailingViewName(tokens: Token[]): { name: string; asToken: Token } | undefined {
  const first = tokens[0];
  if (first?.kind !== 'word' || !['select', 'with', 'from'].includes(first.value.toLowerCase())) {
    return undefined;
  }
  const last = tokens.at(-1);
  const asToken = tokens.at(-2);
  if (!last || !asToken || (last.kind !== 'word' && last.kind !== 'backtick')) return undefined;
  if (asToken.kind !== 'word' || asToken.value.toLowerCase() !== 'as') return undefined;
  const beforeAs = tokens.at(-4);
  const afterColumnAlias = beforeAs?.kind === 'word' && beforeAs.value.toLowerCase() === 'as';
  if (afterColumnAlias || hasTopLevelFrom(tokens.slice(0, -2))) return { name: last.value, asToken };
  return undefined;
}

/** Whether a FROM clause appears outside parentheses. */
export function hasTopLevelFrom(tokens: Token[]): boolean {
  let depth = 0;
  for (const [index, token] of tokens.entries()) {
    if (token.text === '(') depth++;
    else if (token.text === ')') depth--;
    else if (depth === 0 && token.kind === 'word' && token.value.toLowerCase() === 'from') {
      return index > 0 || tokens[0]?.value.toLowerCase() === 'from';
    }
  }
  return false;
}
