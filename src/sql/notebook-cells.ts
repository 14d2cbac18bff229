/**
 * Notebook cells in a script. A cell starts with a block of `--%` header lines, at the top of the
 * script or after a blank line; its body runs until the next such block. A script without headers
 * is one SQL cell. A cell with `--%chat` chats with `--%model=NAME`: its body is the user message,
 * `--%input=CELL` carries the conversation of the earlier cell whose `--%output=CELL` it names.
 *
 * ```
 * --%chat
 * --%model=qianwen_chat
 * --%output=q1
 *
 * Please remember my name.
 * ```
 */
import { InvalidArgumentError } from '../core/index.js';

export type Cell =
  | { kind: 'sql'; text: string; line: number }
  | { kind: 'chat'; model: string; input?: string; output?: string; text: string; line: number };

const CHAT_KEYS = ['chat', 'model', 'input', 'output'];

export function parseCells(script: string): Cell[] {
  const lines = script.split('\n');
  const cells: Cell[] = [];
  let headers: string[] = [];
  let headerLine = 1;
  let body: string[] = [];
  let bodyLine = 1;
  const flush = () => {
    if (headers.length === 0 && body.every((line) => line.trim() === '')) return;
    cells.push(cellOf(headers, body.join('\n'), headerLine, bodyLine));
  };
  for (const [index, line] of lines.entries()) {
    const isHeader = line.startsWith('--%');
    const startsBlock =
      isHeader && (index === 0 || lines[index - 1]!.trim() === '' || lines[index - 1]!.startsWith('--%'));
    if (startsBlock && body.some((bodyLine) => bodyLine.trim() !== '')) {
      flush();
      headers = [];
      body = [];
    }
    if (startsBlock && body.length === 0 && (headers.length === 0 || lines[index - 1]!.startsWith('--%'))) {
      if (headers.length === 0) headerLine = index + 1;
      headers.push(line.slice(3).trim());
      bodyLine = index + 2;
      continue;
    }
    if (body.length === 0) bodyLine = index + 1;
    body.push(line);
  }
  flush();
  return cells;
}

function cellOf(headers: string[], body: string, headerLine: number, bodyLine: number): Cell {
  const settings = new Map<string, string>();
  for (const header of headers) {
    const [key = '', ...rest] = header.split('=');
    settings.set(key.trim(), rest.join('=').trim());
  }
  if (!settings.has('chat')) return { kind: 'sql', text: body, line: bodyLine };
  for (const key of settings.keys()) {
    if (!CHAT_KEYS.includes(key)) {
      throw new InvalidArgumentError(
        `line ${headerLine}: unknown chat cell header --%${key}; allowed: ${CHAT_KEYS.map((name) => `--%${name}`).join(', ')}`,
      );
    }
  }
  const model = settings.get('model');
  if (!model) throw new InvalidArgumentError(`line ${headerLine}: a --%chat cell needs --%model=NAME`);
  const text = body.trim();
  if (text === '') throw new InvalidArgumentError(`line ${headerLine}: the --%chat cell has no message`);
  const input = settings.get('input') || undefined;
  const output = settings.get('output') || undefined;
  return {
    kind: 'chat',
    model,
    text,
    line: headerLine,
    ...(input ? { input } : {}),
    ...(output ? { output } : {}),
  };
}
