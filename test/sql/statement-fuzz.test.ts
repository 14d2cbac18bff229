/**
 * 5,000 randomly mutated Byzer-SQL statements from a seeded generator, through one session (the
 * shell's engine): each ends in a result or a one-line error that is not an internal one, none
 * hangs, and a valid statement right after still works.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { toByzerLLMError } from '../../src/core/index.js';
import { tokenize } from '../../src/sql/sql-tokens.js';
import { type SqlFixture, startSqlFixture } from './sql-fixture.js';

const MUTATIONS = 5_000;
const SEED = 20261130;
/** A watchdog, not a synchronisation: a statement that runs this long counts as hung. */
const HANG_MS = 20_000;

/** mulberry32: a small seeded generator, so a failure is reproducible from its index. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const INSERTS = [
  '(',
  ')',
  "'",
  '"',
  '`',
  ';',
  ',',
  '=',
  '!',
  'as',
  'from',
  'select',
  'where',
  'and',
  'map(',
  'array(',
  'llm_param(',
  'llm_stack(',
  'llm_result(',
  'qianwen_chat(',
  "'''",
  `\${x}`,
  `\${missing}`,
  '--%chat\n',
  '\n',
  'null',
  '1',
  "'text'",
  '"key"',
  'load',
  'save',
  'set',
  'run command as LLM.``',
  'table1',
  'llm(',
  '{0}',
];

function corpus(directory: string): string[] {
  const csv = path.join(directory, 'fuzz.csv');
  return [
    `select qianwen_chat(llm_param(map("instruction",'我是威廉'))) as response as table1`,
    'select llm_result(response) as result from table1 as output',
    `select qianwen_chat(llm_stack(response,llm_param(map("instruction",'who?')))) as response from table1 as table2`,
    `select llm_result(qianwen_chat(llm_param(map("system_msg",'s',"instruction",llm_prompt('name {0}',array("Zhu")))))) as q`,
    `load csv.\`${csv}\` where header="true" as people`,
    `save overwrite people as json.\`${path.join(directory, 'out.json')}\``,
    "set x='''value'''",
    '!byzerllm setup "maxConcurrency=2"',
    'run command as LLM.`` where action="infer" and reconnect="true" and udfName="qianwen_chat"',
    "select i, llm_result(qianwen_chat('n' || (i % 3))) as a from range(5) t(i) as small",
    `select llm('qianwen_chat', 'x {"a": 1}', '{"type":"object","properties":{"a":{"type":"integer"}}}') as s`,
    'select name, count(*) from people group by name order by 1',
  ];
}

function mutate(statement: string, next: () => number): string {
  const tokens = tokenize(statement).map((token) => token.text);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const count = 1 + Math.floor(next() * 3);
  for (let round = 0; round < count && tokens.length > 0; round++) {
    const index = Math.floor(next() * tokens.length);
    const operation = Math.floor(next() * 6);
    if (operation === 0) tokens.splice(index, 1);
    else if (operation === 1) tokens.splice(index, 0, tokens[index]!);
    else if (operation === 2 && index + 1 < tokens.length) {
      [tokens[index], tokens[index + 1]] = [tokens[index + 1]!, tokens[index]!];
    } else if (operation === 3) tokens.splice(index, 0, pick(INSERTS));
    else if (operation === 4) tokens.length = index;
    else {
      const text = tokens[index]!;
      const at = Math.floor(next() * text.length);
      tokens[index] =
        text.slice(0, at) + pick(["'", '"', '`', '(', ')', '{', '}', ';', '$']) + text.slice(at + 1);
    }
  }
  return tokens.join(' ');
}

let fixture: SqlFixture;
before(async () => {
  fixture = await startSqlFixture({ qianwen_chat: [2, 8] }, { recordRequests: false });
  await fs.writeFile(path.join(fixture.directory, 'fuzz.csv'), 'name,age\nAnn,41\nBob,7\n');
});
after(() => fixture.close());

test(`${MUTATIONS} mutated statements each end in a result or a one-line error, and the session stays usable`, async () => {
  const { session } = fixture;
  const next = random(SEED);
  const statements = corpus(fixture.directory);
  await session.run("set max_rows='50'; set max_errors='100%';");
  const outcomes = { results: 0, errors: 0 };
  for (let index = 0; index < MUTATIONS; index++) {
    const mutated = mutate(statements[index % statements.length]!, next);
    let watchdog: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      watchdog = setTimeout(() => reject(new Error(`mutation ${index} hung: ${mutated}`)), HANG_MS);
    });
    try {
      await Promise.race([session.execute(mutated), hung]);
      outcomes.results++;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(`mutation ${index} hung`)) throw error;
      const failure = toByzerLLMError(error);
      assert.notEqual(failure.code, 'internal', `mutation ${index} (${mutated}): ${failure.message}`);
      assert.doesNotMatch(failure.message, /\n/, `mutation ${index}: a multi-line error`);
      assert.ok(failure.message.length > 0);
      outcomes.errors++;
    } finally {
      clearTimeout(watchdog);
    }
    if (index % 50 === 0) {
      assert.deepEqual(await session.run("select llm_result(qianwen_chat('still here')) as answer"), [
        { answer: 'echo: still here' },
      ]);
    } else {
      assert.deepEqual(await session.run('select 40 + 2 as answer'), [{ answer: 42 }]);
    }
  }
  // Both kinds happen: the generator is not trivially all-valid or all-broken.
  assert.ok(outcomes.results > 200 && outcomes.errors > 1000, JSON.stringify(outcomes));
});
