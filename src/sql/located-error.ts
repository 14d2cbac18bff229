import { ByzerLLMError, InvalidArgumentError, toByzerLLMError } from '../core/index.js';
import { StatementSyntaxError } from './byzer-statement.js';
import { positionAt, type SourcePosition } from './sql-tokens.js';

/**
 * The error of a statement as one line that says where: `line L, column C: …`. Byzer syntax errors
 * point at their token; DuckDB's own errors keep their kind ("Binder Error: …") and first line.
 */
export function locatedError(error: unknown, text: string, position: SourcePosition): ByzerLLMError {
  const oneLine = (message: string) => message.replace(/\s*\n\s*/g, ' ');
  const at = (offset: number) => {
    const where = positionAt(text, offset, position);
    return `line ${where.line}, column ${where.column}`;
  };
  if (error instanceof StatementSyntaxError) {
    return new InvalidArgumentError(`${at(error.offset)}: ${oneLine(error.message)}`);
  }
  if (error instanceof ByzerLLMError) {
    if (/^line \d+/.test(error.message)) return error;
    return new ByzerLLMError(error.code, `${at(0)}: ${oneLine(error.message)}`, {
      isRetryable: error.isRetryable,
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
  const firstLine = error instanceof Error ? (error.message.split('\n')[0] ?? '') : '';
  if (/Error: /.test(firstLine)) return new InvalidArgumentError(`${at(0)}: ${firstLine}`, { cause: error });
  return toByzerLLMError(error);
}
