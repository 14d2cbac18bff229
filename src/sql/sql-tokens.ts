/**
 * A small lexer for Byzer-SQL scripts: enough to split statements on `;`, find Byzer's own statement
 * forms and rewrite Byzer function spellings, without ever mistaking a `;` or a keyword inside a
 * string or comment for syntax. It does not parse SQL; DuckDB does that.
 */
import { InvalidArgumentError } from '../core/index.js';

export type TokenKind =
  /** A name or keyword: letters, digits, `_`, `$`, `.` inside (a.b counts as one word). */
  | 'word'
  /** `'…'` (with `''` escapes) or Byzer's `'''…'''`; `value` is the unquoted text. */
  | 'string'
  /** `"…"`: a string in Byzer, an identifier in DuckDB; `value` is the unquoted text. */
  | 'double-quoted'
  /** `` `…` ``: an identifier or (in `load`/`save`) a path; `value` is the unquoted text. */
  | 'backtick'
  | 'number'
  /** Any other single character (`(`, `,`, `=`, `;`, `!`, …). */
  | 'symbol';

export interface Token {
  kind: TokenKind;
  /** The exact source text. */
  text: string;
  /** The unquoted value for quoted kinds; the text otherwise. */
  value: string;
  /** Offset of the first character in the lexed text. */
  start: number;
  end: number;
}

/** A line/column (both 1-based) in a script. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Line and column of `offset` in `text`, shifted by where `text` itself starts. */
export function positionAt(text: string, offset: number, origin: SourcePosition = { line: 1, column: 1 }) {
  let line = origin.line;
  let column = origin.column;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text[index] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column };
}

/** Thrown by the lexer; `offset` is where the bad construct starts. */
export class LexError extends InvalidArgumentError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Tokens of `text`, comments and whitespace dropped. Unterminated strings and comments throw a
 * `LexError` at their start.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string) => {
    tokens.push({ kind, text: text.slice(start, end), value: value ?? text.slice(start, end), start, end });
  };
  while (index < text.length) {
    const character = text[index]!;
    if (/\s/.test(character)) {
      index++;
    } else if (character === '-' && text[index + 1] === '-') {
      const newline = text.indexOf('\n', index);
      index = newline === -1 ? text.length : newline + 1;
    } else if (character === '/' && text[index + 1] === '*') {
      const close = text.indexOf('*/', index + 2);
      if (close === -1) throw new LexError('unterminated /* comment: expected */', index);
      index = close + 2;
    } else if (text.startsWith("'''", index)) {
      const close = text.indexOf("'''", index + 3);
      if (close === -1) throw new LexError("unterminated ''' string: expected a closing '''", index);
      push('string', index, close + 3, text.slice(index + 3, close));
      index = close + 3;
    } else if (character === "'" || character === '"' || character === '`') {
      const end = quotedEnd(text, index, character);
      const inner = text.slice(index + 1, end - 1).replaceAll(character + character, character);
      const kind = character === "'" ? 'string' : character === '"' ? 'double-quoted' : 'backtick';
      push(kind, index, end, inner);
      index = end;
    } else if (/[0-9]/.test(character)) {
      const match = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(index))!;
      push('number', index, index + match[0].length);
      index += match[0].length;
    } else if (WORD_START.test(character)) {
      let end = index + 1;
      while (end < text.length && (WORD_PART.test(text[end]!) || isInnerDot(text, end))) end++;
      push('word', index, end);
      index = end;
    } else {
      push('symbol', index, index + 1);
      index++;
    }
  }
  return tokens;
}

function isInnerDot(text: string, index: number): boolean {
  return (
    text[index] === '.' && WORD_START.test(text[index + 1] ?? '') && WORD_PART.test(text[index - 1] ?? '')
  );
}

/** End offset (exclusive) of a quoted run opened at `start`; a doubled quote is an escaped quote. */
function quotedEnd(text: string, start: number, quote: string): number {
  let index = start + 1;
  while (index < text.length) {
    if (text[index] === quote) {
      if (text[index + 1] === quote) index += 2;
      else return index + 1;
    } else index++;
  }
  const name = quote === "'" ? 'string' : quote === '"' ? 'quoted name' : 'backtick name';
  throw new LexError(`unterminated ${name}: expected a closing ${quote}`, start);
}

/** A statement of a script: its text without the final `;`, and where it starts. */
export interface ScriptStatement {
  text: string;
  /** Offset of the statement's first token in the script. */
  offset: number;
  position: SourcePosition;
}

/**
 * Splits a script into statements on top-level `;`. Empty statements (only comments) are dropped;
 * a last statement without `;` is kept.
 */
export function splitStatements(script: string, origin: SourcePosition = { line: 1, column: 1 }) {
  let tokens: Token[];
  try {
    tokens = tokenize(script);
  } catch (error) {
    if (error instanceof LexError) {
      const position = positionAt(script, error.offset, origin);
      throw new InvalidArgumentError(`line ${position.line}, column ${position.column}: ${error.message}`);
    }
    throw error;
  }
  const statements: ScriptStatement[] = [];
  let first: Token | undefined;
  for (const token of tokens) {
    if (token.kind === 'symbol' && token.text === ';') {
      if (first) statements.push(statementFrom(script, first.start, token.start, origin));
      first = undefined;
    } else first ??= token;
  }
  if (first) statements.push(statementFrom(script, first.start, script.length, origin));
  return statements;
}

function statementFrom(script: string, start: number, end: number, origin: SourcePosition): ScriptStatement {
  return {
    text: script.slice(start, end).trimEnd(),
    offset: start,
    position: positionAt(script, start, origin),
  };
}
