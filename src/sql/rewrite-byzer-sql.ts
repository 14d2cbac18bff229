/**
 * Byzer-SQL (Spark) spellings → DuckDB, applied to the query part of statements:
 *
 * - `map(k1, v1, k2, v2, …)` → `map([k1, k2, …], [CAST(v1 AS VARCHAR), …])` (DuckDB's `map` takes
 *   two lists; values become text, `llm_param` reads numbers and booleans back);
 * - `array(a, b)` → `list_value(a, b)`;
 * - inside those two, an argument that is only a `"double-quoted"` token is a string, as in Spark
 *   (`map("instruction", text)`); elsewhere `"…"` stays a DuckDB identifier;
 * - `` `name` `` → `"name"` (Spark's identifier quotes).
 *
 * DuckDB's own `map([…], […])` (two list arguments) is left alone.
 */
import { InvalidArgumentError } from '../core/index.js';
import { duckdbStructure, readSchema } from './json-schema-struct.js';
import { type Token, tokenize } from './sql-tokens.js';

/** Replaces `${name}` with the value of a `set` variable; an unknown name is an error naming it. */
export function substituteVariables(text: string, variables: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][\w.]*)\}/g, (_whole, name: string) => {
    const value = variables.get(name);
    if (value === undefined) {
      const known = [...variables.keys()];
      throw new InvalidArgumentError(
        `unknown variable \${${name}}: set it first with set ${name}='…';${known.length ? ` known: ${known.join(', ')}` : ''}`,
      );
    }
    return value;
  });
}

/** The query text with Byzer spellings turned into DuckDB's. */
export function rewriteByzerSql(text: string): string {
  return rewriteTokens(text, tokenize(text), 0, text.length);
}

/** Names of functions called in `text` (lower case), e.g. to know whether a query calls a model. */
export function calledFunctions(text: string): Set<string> {
  const tokens = tokenize(text);
  const names = new Set<string>();
  for (const [index, token] of tokens.entries()) {
    if (token.kind === 'word' && tokens[index + 1]?.text === '(') names.add(token.value.toLowerCase());
    if (token.kind === 'double-quoted' && tokens[index + 1]?.text === '(')
      names.add(token.value.toLowerCase());
  }
  return names;
}

/** Whether `text` names `name` (a word or quoted identifier, any case), e.g. a query reading table `name`. */
export function mentionsName(text: string, name: string): boolean {
  const lower = name.toLowerCase();
  return tokenize(text).some(
    (token) =>
      (token.kind === 'word' || token.kind === 'double-quoted') &&
      token.value.toLowerCase().split('.').includes(lower),
  );
}

function rewriteTokens(text: string, tokens: Token[], from: number, to: number): string {
  let output = '';
  let cursor = from;
  let index = tokens.findIndex((token) => token.start >= from);
  if (index === -1) return text.slice(from, to);
  while (index < tokens.length && tokens[index]!.start < to) {
    const token = tokens[index]!;
    if (token.kind === 'backtick') {
      output += `${text.slice(cursor, token.start)}"${token.value.replaceAll('"', '""')}"`;
      cursor = token.end;
      index++;
      continue;
    }
    const name = token.kind === 'word' ? token.value.toLowerCase() : '';
    const previous = tokens[index - 1];
    if (REWRITTEN_CALLS.has(name) && tokens[index + 1]?.text === '(' && previous?.text !== '.') {
      const close = matchingParen(tokens, index + 1);
      if (close !== -1) {
        const argumentRanges = splitArguments(tokens, index + 1, close);
        const argumentsText = argumentRanges.map((range) => rewriteArgument(text, tokens, range));
        const replacement =
          name === 'array'
            ? `list_value(${argumentsText.join(', ')})`
            : name === 'map'
              ? mapCall(argumentsText, tokens, argumentRanges)
              : llmCall(argumentsText, tokens, argumentRanges);
        output += text.slice(cursor, token.start) + replacement;
        cursor = tokens[close]!.end;
        index = close + 1;
        continue;
      }
    }
    index++;
  }
  return output + text.slice(cursor, to);
}

const REWRITTEN_CALLS = new Set(['map', 'array', 'llm']);

/**
 * `llm(model, prompt, '<json schema>')` → `from_json(llm(…), '<structure>')`: the column gets the
 * schema's STRUCT type. The schema must be a literal, because DuckDB fixes a column's type before
 * it reads any row.
 */
function llmCall(argumentsText: string[], tokens: Token[], ranges: ArgumentRange[]): string {
  const call = `llm(${argumentsText.join(', ')})`;
  const schemaRange = ranges[2];
  if (ranges.length !== 3 || !schemaRange) return call;
  const schemaToken = tokens[schemaRange.first]!;
  if (schemaRange.last - schemaRange.first !== 1 || schemaToken.kind !== 'string') {
    throw new InvalidArgumentError(
      'llm(model, prompt, schema): the schema must be a string literal, e.g. \'{"type":"object",…}\'',
    );
  }
  const structure = JSON.stringify(duckdbStructure(readSchema(schemaToken.value).shape));
  return `from_json(${call}, '${structure.replaceAll("'", "''")}')`;
}

interface ArgumentRange {
  /** Token indices, inclusive start, exclusive end. */
  first: number;
  last: number;
}

function matchingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const text = tokens[index]!.text;
    if (text === '(' || text === '[' || text === '{') depth++;
    else if (text === ')' || text === ']' || text === '}') {
      depth--;
      if (depth === 0) return text === ')' ? index : -1;
    }
  }
  return -1;
}

function splitArguments(tokens: Token[], open: number, close: number): ArgumentRange[] {
  const ranges: ArgumentRange[] = [];
  let depth = 0;
  let first = open + 1;
  for (let index = open + 1; index < close; index++) {
    const text = tokens[index]!.text;
    if (text === '(' || text === '[' || text === '{') depth++;
    else if (text === ')' || text === ']' || text === '}') depth--;
    else if (text === ',' && depth === 0) {
      ranges.push({ first, last: index });
      first = index + 1;
    }
  }
  if (first < close) ranges.push({ first, last: close });
  return ranges;
}

function rewriteArgument(text: string, tokens: Token[], range: ArgumentRange): string {
  const only = range.last - range.first === 1 ? tokens[range.first]! : undefined;
  if (only?.kind === 'double-quoted') return `'${only.value.replaceAll("'", "''")}'`;
  const start = tokens[range.first]!.start;
  const end = tokens[range.last - 1]!.end;
  return rewriteTokens(text, tokens, start, end).trim();
}

/** DuckDB's own two-list form stays; Spark's alternating keys and values become two lists. */
function mapCall(argumentsText: string[], tokens: Token[], ranges: ArgumentRange[]): string {
  const isDuckDBForm =
    ranges.length === 2 &&
    ranges.every((range) => ['[', 'list_value'].includes(tokens[range.first]!.text.toLowerCase()));
  if (isDuckDBForm || argumentsText.length === 0) return `map(${argumentsText.join(', ')})`;
  if (argumentsText.length % 2 !== 0) {
    throw new InvalidArgumentError(
      `map(…) takes keys and values in pairs, got ${argumentsText.length} arguments: ${argumentsText.join(', ')}`,
    );
  }
  const keys = argumentsText.filter((_, index) => index % 2 === 0);
  const values = argumentsText
    .filter((_, index) => index % 2 === 1)
    .map((value) => `CAST(${value} AS VARCHAR)`);
  return `map([${keys.join(', ')}], [${values.join(', ')}])`;
}
