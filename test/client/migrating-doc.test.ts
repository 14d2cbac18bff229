/**
 * docs/migrating.md maps Byzer-LLM's Python API names to TypeScript: every name it gives as existing
 * exists on the exported objects, and every "none" says why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import * as byzerllm from '../../src/index.js';
import type { ChatResponse } from '../../src/index.js';

const DOC = path.resolve(import.meta.dirname, '../../../docs/migrating.md');

interface Row {
  python: string;
  typescript: string;
  notes: string;
}

async function rows(): Promise<Row[]> {
  const text = await fs.readFile(DOC, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Python') && !line.startsWith('|---'))
    .map((line) => {
      const cells = line.split(' | ').map((cell) => cell.replace(/^\| ?|\s?\|$/g, '').trim());
      return { python: cells[0] ?? '', typescript: cells[1] ?? '', notes: cells[2] ?? '' };
    });
}

/** Every field of `ChatResponse`, checked by the compiler both ways (a missing or extra key fails). */
const RESPONSE_FIELDS: Record<keyof ChatResponse, true> = {
  output: true,
  metadata: true,
  meta: true,
  response: true,
  input: true,
  toolCalls: true,
  values: true,
  value: true,
};
const holders: Record<string, (name: string) => boolean> = {
  byzerllm: (name) => name in byzerllm,
  ByzerLLM: (name) => typeof (byzerllm.ByzerLLM as unknown as Record<string, unknown>)[name] === 'function',
  llm: (name) => name in byzerllm.ByzerLLM.prototype && name in byzerllm.SimpleByzerLLM.prototype,
  fn: (name) =>
    typeof (byzerllm.PromptFunction.prototype as unknown as Record<string, unknown>)[name] === 'function',
  holder: (name) =>
    typeof (byzerllm.MetaHolder.prototype as unknown as Record<string, unknown>)[name] === 'function',
  response: (name) => Object.hasOwn(RESPONSE_FIELDS, name),
};

test('every TypeScript name in docs/migrating.md exists; every "none" gives a reason', async () => {
  const all = await rows();
  assert.ok(all.length >= 90, `only ${all.length} rows parsed`);
  const missing: string[] = [];
  for (const row of all) {
    assert.match(row.python, /`[^`]+`/, `a Python name in ${JSON.stringify(row)}`);
    if (row.typescript === 'none') {
      assert.ok(row.notes.length > 10, `"none" for ${row.python} needs a reason`);
      continue;
    }
    const name = /^`([A-Za-z]+)\.([A-Za-z]+)`$/.exec(row.typescript);
    assert.ok(name, `the TypeScript column of ${row.python} is one \`holder.name\`: ${row.typescript}`);
    const [, holder, member] = name;
    const check = holders[holder!];
    assert.ok(check, `unknown holder ${holder} in ${row.typescript}`);
    if (!check(member!)) missing.push(row.typescript);
  }
  assert.deepEqual(missing, []);
});

test('the check itself fails for a name that does not exist', () => {
  assert.equal(holders.llm!('tokenizeEverything'), false);
  assert.equal(holders.byzerllm!('getSingleLLM'), false);
  assert.equal(holders.response!('predict'), false);
});
