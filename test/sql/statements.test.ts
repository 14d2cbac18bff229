/**
 * Byzer-SQL statements on real DuckDB: parsing, rewriting, load/save round trips, set and ${}
 * substitution, setup and run command, notebook chat cells, and errors that say where.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseStatement } from '../../src/sql/byzer-statement.js';
import { parseCells } from '../../src/sql/notebook-cells.js';
import { rewriteByzerSql } from '../../src/sql/rewrite-byzer-sql.js';
import { type SqlFixture, startSqlFixture } from './sql-fixture.js';

describe('Byzer statement forms', () => {
  test('a trailing "as t" names a view after a column alias or a FROM clause, not in "select 1 as a"', () => {
    assert.deepEqual(parseStatement('select x as response as table1'), {
      kind: 'select-as',
      sql: 'select x as response',
      table: 'table1',
    });
    assert.deepEqual(parseStatement('select llm_result(r) as result from table1 as output'), {
      kind: 'select-as',
      sql: 'select llm_result(r) as result from table1',
      table: 'output',
    });
    assert.deepEqual(parseStatement('select 1 as a'), { kind: 'sql', sql: 'select 1 as a' });
  });

  test('load, save, set, setup and run command parse into data', () => {
    assert.deepEqual(parseStatement('load csv.`/d/a.csv` where header="false" and delimiter=";" as t'), {
      kind: 'load',
      format: 'csv',
      path: '/d/a.csv',
      options: { header: 'false', delimiter: ';' },
      table: 't',
    });
    assert.deepEqual(parseStatement('save append t as parquet.`out.parquet`'), {
      kind: 'save',
      mode: 'append',
      table: 't',
      format: 'parquet',
      path: 'out.parquet',
      options: {},
    });
    assert.deepEqual(parseStatement("set prompt='''it's {0}'''"), {
      kind: 'set',
      name: 'prompt',
      value: "it's {0}",
    });
    assert.deepEqual(parseStatement('!byzerllm setup "maxConcurrency=10"'), {
      kind: 'setup',
      setting: 'maxConcurrency=10',
    });
    assert.deepEqual(
      parseStatement('run command as LLM.`` where action="infer" and `saas.api_key`="k" and udfName="m"'),
      { kind: 'run-llm', options: { action: 'infer', 'saas.api_key': 'k', udfName: 'm' } },
    );
    // DuckDB's own settings stay DuckDB's.
    assert.deepEqual(parseStatement('set threads = 1', new Set(['threads'])), {
      kind: 'sql',
      sql: 'set threads = 1',
    });
  });

  test('map(k, v, …) and array(…) become DuckDB lists, "double quotes" inside them are strings', () => {
    assert.equal(
      rewriteByzerSql(`select m(llm_param(map("instruction", text, "temperature", 0.1)))`),
      `select m(llm_param(map(['instruction', 'temperature'], [CAST(text AS VARCHAR), CAST(0.1 AS VARCHAR)])))`,
    );
    assert.equal(rewriteByzerSql('select array("a", `my col`)'), `select list_value('a', "my col")`);
    assert.equal(rewriteByzerSql("select map(['k'], ['v'])"), "select map(['k'], ['v'])");
  });

  test('cells: blank-line-delimited --% headers; a script without them is one SQL cell', () => {
    const script = 'select 1;\n\n--%chat\n--%model=m\n--%output=q1\n\nhello\nthere\n\n--%sql\nselect 2;\n';
    assert.deepEqual(parseCells(script), [
      { kind: 'sql', text: 'select 1;\n', line: 1 },
      { kind: 'chat', model: 'm', output: 'q1', text: 'hello\nthere', line: 3 },
      { kind: 'sql', text: 'select 2;\n', line: 11 },
    ]);
    assert.deepEqual(parseCells('select 1;\n-- not a header: --%chat\n'), [
      { kind: 'sql', text: 'select 1;\n-- not a header: --%chat\n', line: 1 },
    ]);
    assert.throws(
      () => parseCells('--%chat\n--%model=m\n--%colour=red\n\nhi'),
      /unknown chat cell header --%colour/,
    );
  });
});

describe('Byzer statements on DuckDB', () => {
  let fixture: SqlFixture;
  before(async () => {
    fixture = await startSqlFixture({ qianwen_chat: [1, 4] });
  });
  after(() => fixture.close());

  test('load and save every format round trip, append adds rows', async () => {
    const { session, directory } = fixture;
    const file = (name: string) => path.join(directory, name);
    await fs.writeFile(file('notes.txt'), 'first line\nsecond line\n');
    await fs.writeFile(file('people.csv'), 'name,age\nAnn,41\nBob,7\n');
    await fs.writeFile(file('people.jsonl'), '{"name":"Cy","age":3}\n{"name":"Di","age":5}\n');
    const rows = await session.run(`
      load text.\`${file('notes.txt')}\` as lines;
      load text.\`${file('notes.txt')}\` where wholetext="true" as whole;
      load csv.\`${file('people.csv')}\` as people;
      load jsonl.\`${file('people.jsonl')}\` as more;
      select name, age from people union all select name, age from more as everyone;
      save overwrite everyone as parquet.\`${file('everyone.parquet')}\`;
      save append people as parquet.\`${file('everyone.parquet')}\`;
      save overwrite everyone as json.\`${file('everyone.json')}\`;
      save overwrite everyone as csv.\`${file('everyone.csv')}\`;
      load parquet.\`${file('everyone.parquet')}\` as back;
      load json.\`${file('everyone.json')}\` as back_json;
      select (select count(*) from lines) as lines, (select value from whole) as whole,
             (select count(*) from back) as parquet_rows, (select count(*) from back_json) as json_rows;`);
    assert.deepEqual(rows, [{ lines: 2, whole: 'first line\nsecond line\n', parquet_rows: 6, json_rows: 4 }]);
    assert.equal(await fs.readFile(file('everyone.csv'), 'utf8'), 'name,age\nAnn,41\nBob,7\nCy,3\nDi,5\n');
  });

  test('set with variable substitution, also in prompts sent to the model', async () => {
    const rows = await fixture.session.run(`
      set greeting='''hello,
it is me''';
      select llm_result(qianwen_chat(llm_param(map("instruction", '\${greeting}')))) as answer as t;`);
    assert.deepEqual(rows, [{ answer: 'echo: hello,\nit is me' }]);
    await assert.rejects(
      fixture.session.run(`select '\${nobody}'`),
      /unknown variable \$\{nobody\}: set it first/,
    );
  });

  test('setup and run command as LLM deploy a model and register its function', async () => {
    const params = Object.entries(fixture.inferParams)
      .map(([key, value]) => `and \`${key}\`="${value}"`)
      .join('\n');
    const rows = await fixture.session.run(`
      !byzerllm setup single;
      !byzerllm setup "num_gpus=0";
      !byzerllm setup "maxConcurrency=3";
      run command as LLM.\`\` where
      action="infer"
      and pretrainedModelType="saas/openai"
      ${params}
      and reconnect="false"
      and udfName="sql_deployed"
      and modelTable="command";
      select llm_result(sql_deployed('hi')) as answer;`);
    assert.deepEqual(rows, [{ answer: 'echo: hi' }]);
    const deployed = (await fixture.head.list()).find((deployment) => deployment.name === 'sql_deployed');
    assert.equal(deployed?.workerConcurrency, 3);
    await assert.rejects(
      fixture.session.run(
        'run command as LLM.`` where action="infer" and reconnect="true" and udfName="missing";',
      ),
      /no deployment named "missing" to reconnect to/,
    );
  });

  test('notebook chat cells carry the conversation from --%input and keep it as a table', async () => {
    fixture.upstream.reset();
    const results = await fixture.session.execute(
      '--%chat\n--%model=qianwen_chat\n--%output=q1\n\n你好，请记住我的名字，我叫祝威廉。\n\n' +
        '--%chat\n--%model=qianwen_chat\n--%input=q1\n--%output=q2\n\n请问我叫什么名字？\n',
    );
    assert.deepEqual(
      results.map((result) => result.answer),
      ['echo: 你好，请记住我的名字，我叫祝威廉。', 'echo: 请问我叫什么名字？'],
    );
    assert.deepEqual(fixture.chatMessages()[1], [
      { role: 'user', content: '你好，请记住我的名字，我叫祝威廉。' },
      { role: 'assistant', content: 'echo: 你好，请记住我的名字，我叫祝威廉。' },
      { role: 'user', content: '请问我叫什么名字？' },
    ]);
    assert.deepEqual(await fixture.session.run('select count(*) as n from q2'), [{ n: 4 }]);
    await assert.rejects(
      fixture.session.execute('--%chat\n--%model=qianwen_chat\n--%input=q9\n\nhi\n'),
      /--%input=q9: no earlier chat cell has --%output=q9/,
    );
  });

  test('errors name the line and column of the statement and what was expected', async () => {
    const session = fixture.session;
    await assert.rejects(
      session.run('select 1;\n\n  load foo.`x` as t;'),
      /: line 3, column 8: unknown load format "foo"; allowed: text, json, jsonl, csv, parquet$/,
    );
    await assert.rejects(
      session.run("select 1;\nsave t as parquet.'x';"),
      /line 2, column 19: expected a path in backticks/,
    );
    await assert.rejects(
      session.run('select * from\n  nowhere;'),
      /line 1, column 1: Catalog Error: Table with name nowhere does not exist!/,
    );
    await assert.rejects(
      session.run("select 'open"),
      /line 1, column 8: unterminated string: expected a closing '/,
    );
    await assert.rejects(
      session.run('!byzerllm setup "gpus=2";'),
      /unknown setup "gpus=2"; allowed: single, sft, sfft, or "key=value"/,
    );
  });
});
