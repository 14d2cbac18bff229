/**
 * The `/model/predict` handler: Byzer's form in, rows out, over a real head; SQL from the network
 * cannot touch files, change DuckDB's configuration or run Byzer's side-effecting statements.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPredictHandler } from '../../src/sql/index.js';
import { type SqlFixture, startSqlFixture } from './sql-fixture.js';

let fixture: SqlFixture;
let predict: ReturnType<typeof createPredictHandler>;
const signal = new AbortController().signal;
before(async () => {
  fixture = await startSqlFixture({ qianwen_chat: [1, 4] });
  predict = createPredictHandler(fixture.head);
});
after(() => fixture.close());

test('dataType=string gives a feature column; dataType=row gives the keys as columns', async () => {
  const strings = (await predict(
    {
      sql: 'select qianwen_chat(array(feature)) as value',
      data: '[{"instruction":"你好"}]',
      owner: 'william',
    },
    signal,
  )) as { value: string[] }[];
  assert.equal(JSON.parse(strings[0]!.value[0]!).output, 'echo: 你好');
  const rows = await predict(
    {
      sql: 'select name, llm_result(qianwen_chat(name)) as answer from data order by name',
      data: '[{"name":"b"},{"name":"a","extra":1}]',
      dataType: 'row',
    },
    signal,
  );
  assert.deepEqual(rows, [
    { name: 'a', answer: 'echo: a' },
    { name: 'b', answer: 'echo: b' },
  ]);
});

test('network SQL cannot read or write files, unlock DuckDB, or run Byzer statements with effects', async () => {
  const refused = async (sql: string, pattern: RegExp) =>
    assert.rejects(predict({ sql, data: '[]' }, signal), pattern);
  await refused(
    "select * from read_text('/etc/hostname')",
    /Permission Error: .*file system operations are disabled/,
  );
  await refused("copy (select 1) to '/tmp/byzerllm-predict.csv'", /Permission Error/);
  await refused('set enable_external_access = true', /the configuration has been locked/);
  await refused('load text.`/etc/hostname` as t', /load statements are not allowed here/);
  await refused(
    'run command as LLM.`` where action="infer" and reconnect="true" and udfName="qianwen_chat"',
    /run-llm statements are not allowed here/,
  );
  await refused('select 1; select 2', /"sql" must be exactly one statement/);
  await assert.rejects(predict({ data: '[]' }, signal), /form field "sql"/);
  await assert.rejects(
    predict({ sql: 'select 1', data: '{"not":"rows"}' }, signal),
    /"data" must be a JSON array of rows/,
  );
});
