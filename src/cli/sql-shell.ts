/**
 * The interactive `byzerllm sql` shell: statements may span lines and run when a line ends the
 * statement with `;`; a chat cell (`--%chat` headers, then the message) runs at the next empty line.
 * History is kept in `$BYZERLLM_HOME/sql_history`. Ctrl+C cancels the running statement's model
 * calls and returns to the prompt; at the prompt it clears the unfinished statement; Ctrl+D exits.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { resolveStateDirectory } from '../cluster/index.js';
import type { SqlSession } from '../sql/index.js';
import { reportError } from './exit-codes.js';
import { formatResult, progressLine } from './sql-output.js';

const HISTORY_LINES = 500;

export async function runSqlShell(session: SqlSession, format: 'table' | 'json' | 'csv'): Promise<void> {
  const historyFile = path.join(resolveStateDirectory(), 'sql_history');
  const interactive = Boolean(process.stdin.isTTY);
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    history: interactive ? readHistory(historyFile) : [],
    historySize: HISTORY_LINES,
  });
  let buffer: string[] = [];
  let running: AbortController | undefined;
  const interrupt = () => {
    if (running) {
      running.abort();
      return;
    }
    buffer = [];
    if (interactive) {
      process.stdout.write('^C (Ctrl+D to exit)\n');
      rl.prompt();
    }
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  const prompt = () => {
    rl.setPrompt(buffer.length === 0 ? 'sql> ' : '...> ');
    if (interactive) rl.prompt();
  };
  if (interactive)
    process.stdout.write('byzerllm sql: end statements with ";", Ctrl+C cancels, Ctrl+D exits\n');
  prompt();
  try {
    for await (const line of rl) {
      buffer.push(line);
      const text = buffer.join('\n');
      if (!isComplete(text, line)) {
        prompt();
        continue;
      }
      buffer = [];
      running = new AbortController();
      const progress = progressLine(process.stderr);
      try {
        const results = await session.execute(text, { signal: running.signal, onProgress: progress.update });
        progress.clear();
        for (const result of results) {
          if (result.columns.length > 0) process.stdout.write(formatResult(result, format));
        }
      } catch (error) {
        progress.clear();
        reportError(error);
      } finally {
        running = undefined;
      }
      prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    if (interactive) writeHistory(historyFile, (rl as unknown as { history: string[] }).history);
    rl.close();
  }
}

/** A chat cell ends at an empty line; SQL ends with a `;` outside strings and comments. */
function isComplete(text: string, lastLine: string): boolean {
  const trimmed = text.trimStart();
  if (trimmed === '') return false;
  if (trimmed.startsWith('--%')) {
    const message = text.split('\n').filter((line) => !line.startsWith('--%') && line.trim() !== '');
    return lastLine.trim() === '' && message.length > 0;
  }
  return endsStatement(text);
}

/** Whether the last token of `text` is a `;` (strings and comments skipped). */
function endsStatement(text: string): boolean {
  let quote: string | undefined;
  let last = '';
  for (let index = 0; index < text.length; index++) {
    const character = text[index]!;
    if (quote) {
      if (character === quote) quote = undefined;
      continue;
    }
    if (character === '-' && text[index + 1] === '-') {
      const newline = text.indexOf('\n', index);
      if (newline === -1) break;
      index = newline;
      continue;
    }
    if (character === "'" || character === '"' || character === '`') quote = character;
    if (!/\s/.test(character)) last = character;
  }
  return quote === undefined && last === ';';
}

function readHistory(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_LINES);
  } catch {
    return [];
  }
}

function writeHistory(file: string, history: string[]): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${[...history].reverse().slice(-HISTORY_LINES).join('\n')}\n`, { mode: 0o600 });
  } catch {
    // History is a convenience: an unwritable home must not fail the shell.
  }
}
