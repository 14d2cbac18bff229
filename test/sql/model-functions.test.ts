/**
 * Model functions on real DuckDB against a real in-process head and the echoing OpenAI stand-in:
 * the quick guide's queries, batching up to capacity, dedupe, max_errors, max_rows, llm(), llm_embed.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { embeddingOf } from '../support/openai-upstream-answers.js';
import { type SqlFixture, startSqlFixture } from './sql-fixture.js';

describe('model functions in SQL', () => {
  let fixture: SqlFixture;
  before(async () => {
    fixture = await startSqlFixture({ qianwen_chat: [2, 4], kimi_chat: [1, 2] });
  });
  after(() => fixture.close());
  beforeEach(async () => {
    fixture.upstream.reset();
    await fixture.session.run("set max_errors='0'; set max_rows='100000';");
  });

  test("the quick guide's two-step chat: llm_param, llm_result, then llm_stack carries the turn", async () => {
    const { session } = fixture;
    await session.run(`select
kimi_chat(llm_param(map(
              "instruction",'我是威廉，请记住我是谁。'
)))

as response as table1;`);
    assert.deepEqual(await session.run('select llm_result(response) as result from table1 as output;'), [
      { result: 'echo: 我是威廉，请记住我是谁。' },
    ]);
    const rows = await session.run(`select
kimi_chat(llm_stack(response,llm_param(map(
              "instruction",'请问我是谁？'
))))

as response from table1
as table2;

select llm_result(response) as result from table2 as output;`);
    assert.deepEqual(rows, [{ result: 'echo: 请问我是谁？' }]);
    // table1 was materialised: its model call ran once, and the follow-up carried the first exchange.
    assert.deepEqual(fixture.chatMessages(), [
      [{ role: 'user', content: '我是威廉，请记住我是谁。' }],
      [
        { role: 'user', content: '我是威廉，请记住我是谁。' },
        { role: 'assistant', content: 'echo: 我是威廉，请记住我是谁。' },
        { role: 'user', content: '请问我是谁？' },
      ],
    ]);
  });

  test("003's llama2_chat query: roles, system_msg and llm_prompt with array(...)", async () => {
    const rows = await fixture.session.run(`select
qianwen_chat(llm_param(map(
              "user_role","User",
              "assistant_role","Assistant",
              "system_msg",'You are a helpful assistant. Think it over and answer the user question correctly.',
              "instruction",llm_prompt('
Please remenber my name: {0}
',array("Zhu William"))

))) as q
as q1;
select llm_result(q) as answer from q1;`);
    assert.deepEqual(rows, [{ answer: 'echo: \nPlease remenber my name: Zhu William\n' }]);
    assert.deepEqual(fixture.chatMessages()[0], [
      {
        role: 'system',
        content: 'You are a helpful assistant. Think it over and answer the user question correctly.',
      },
      { role: 'user', content: '\nPlease remenber my name: Zhu William\n' },
    ]);
  });

  test('a model function over array(feature) returns Byzer responses whose output is the answer', async () => {
    const rows = await fixture.session.run(
      `select qianwen_chat(array(feature)) as value from (select '{"instruction":"你好"}' as feature)`,
    );
    const value = rows[0]?.value as string[];
    assert.equal(value.length, 1);
    assert.equal(JSON.parse(value[0]!).output, 'echo: 你好');
  });

  test('one chunk of rows runs concurrently up to num_workers × worker_concurrency, identical requests once', async () => {
    const rows = await fixture.session.run(
      `select count(distinct llm_result(qianwen_chat(llm_param(map('instruction', 'row ' || (i % 24) || ' delay:200'))))) as answers,
              count(*) as total
       from range(300) t(i)`,
    );
    assert.deepEqual(rows, [{ answers: 24, total: 300 }]);
    assert.equal(fixture.chatMessages().length, 24);
    assert.equal(fixture.upstream.peakInFlight(), 8);
  });

  test('failed rows: the query fails with one message by default, and reads NULL + llm_error when max_errors allows', async () => {
    const query = `select i, llm_result(r) as answer, llm_error(r) as error from
      (select i, qianwen_chat(llm_param(map('instruction', 'row ' || i || case when i % 20 = 0 then ' fail:500' else '' end))) as r
       from range(100) t(i)) order by i`;
    await assert.rejects(fixture.session.run(query), (error: Error & { code: string }) => {
      assert.match(
        error.message,
        /^line 1, column 1: 5 of 100 model calls failed, more than max_errors=0 \(first: upstream_error: /,
      );
      assert.equal(error.code, 'upstream_error');
      return true;
    });
    await fixture.session.run("set max_errors='5%';");
    const rows = await fixture.session.run(query);
    const failed = rows.filter((row) => row.answer === null);
    assert.deepEqual(
      failed.map((row) => row.i),
      [0, 20, 40, 60, 80],
    );
    assert.ok(failed.every((row) => String(row.error).startsWith('upstream_error: ')));
    assert.equal(rows[1]?.answer, 'echo: row 1');
    assert.equal(rows[1]?.error, null);
  });

  test('a retryable failure (429) is retried and the row answered', async () => {
    fixture.upstream.failNext({ status: 429 }, { status: 429 });
    assert.deepEqual(await fixture.session.run(`select llm_result(kimi_chat('retry me')) as answer`), [
      { answer: 'echo: retry me' },
    ]);
    assert.equal(fixture.chatMessages().length, 3);
  });

  test('max_rows refuses a query that would call the models too often, before any call', async () => {
    await fixture.session.run("set max_rows='10';");
    await assert.rejects(
      fixture.session.run(`select qianwen_chat('q ' || i) from range(11) t(i)`),
      /asks the models 11 times, more than max_rows=10/,
    );
    assert.equal(fixture.chatMessages().length, 0);
  });

  test('llm(model, prompt) answers text; with a JSON schema it returns a typed STRUCT', async () => {
    const text = await fixture.session.run(`select llm('qianwen_chat', 'hello') as answer`);
    assert.deepEqual(text, [{ answer: 'echo: hello' }]);
    const schema = '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}';
    const rows = await fixture.session.run(
      `select person.name as name, person.age + 1 as next_age from
        (select llm('qianwen_chat', 'answer {"name": "Ann", "age": 41}', '${schema}') as person)`,
    );
    assert.deepEqual(rows, [{ name: 'Ann', next_age: 42 }]);
    const body = fixture.upstream.requests.at(-1)?.body as { response_format?: { type: string } };
    assert.equal(body.response_format?.type, 'json_schema');
  });

  test('llm() with a schema repairs once, then counts the row as failed', async () => {
    const schema = '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}';
    await assert.rejects(
      fixture.session.run(`select llm('qianwen_chat', 'answer {"name": "Ann"}', '${schema}') as person`),
      /1 of 2 model calls failed.*does not match the schema after one repair/,
    );
    const messages = fixture.chatMessages();
    assert.equal(messages.length, 2);
    assert.match(messages[1]!.at(-1)!.content, /does not match the JSON schema \(\$\.age is missing\)/);
  });

  test('llm_embed returns FLOAT[] vectors, batched', async () => {
    const rows = await fixture.session.run(
      `select min(len(e)) as smallest, max(len(e)) as largest, count(*) as n
       from (select llm_embed('qianwen_chat', 'text ' || i) as e from range(40) t(i))`,
    );
    assert.deepEqual(rows, [{ smallest: 8, largest: 8, n: 40 }]);
    const embedCalls = fixture.upstream.requests.filter((request) => request.path === '/v1/embeddings');
    assert.ok(
      embedCalls.length >= 2 && embedCalls.length <= 3,
      `${embedCalls.length} embedding calls for 40 texts`,
    );
  });

  test('an embedding deployment called by name returns FLOAT[] for text and for array(feature)', async () => {
    await fixture.head.deploy({
      name: 'emb_model',
      pretrainedModelType: 'saas/openai',
      numWorkers: 1,
      workerConcurrency: 4,
      inferParams: { ...fixture.inferParams, 'saas.model': 'text-embedding-3-small' },
    });
    await fixture.session.run(
      `create table docs as select * from (values ('first doc'), ('第二篇')) t(feature);`,
    );
    const rows = await fixture.session.run(
      `select feature, typeof(emb_model(feature)) as type, emb_model(feature) as plain,
              emb_model(array(feature)) as listed, emb_model(llm_param(map('instruction', feature))) as param
       from docs order by feature`,
    );
    const float32 = (vector: unknown) => (vector as number[]).map((value) => Math.fround(value));
    assert.deepEqual(
      rows.map((row) => row.feature),
      ['first doc', '第二篇'],
    );
    for (const row of rows) {
      const expected = embeddingOf(row.feature as string, 8);
      assert.equal(row.type, 'FLOAT[]');
      assert.deepEqual(float32(row.plain), expected);
      assert.deepEqual(float32(row.listed), expected);
      assert.deepEqual(float32(row.param), expected);
    }
    const chats = fixture.upstream.requests.filter((request) => request.path === '/v1/chat/completions');
    assert.equal(chats.length, 0, 'an embedding deployment is never asked to chat');
    const sent = fixture.upstream.requests
      .filter((request) => request.path === '/v1/embeddings')
      .flatMap((request) => (request.body as { input: string[] }).input);
    assert.deepEqual([...new Set(sent)].sort(), ['first doc', '第二篇']);
  });

  test('a statement that changes the database calls each model once and commits once', async () => {
    await fixture.session.run(
      `create table answers as select llm_result(qianwen_chat('t' || i)) as answer from range(3) t(i);`,
    );
    assert.deepEqual(await fixture.session.run('select count(*) as n from answers'), [{ n: 3 }]);
    assert.equal(fixture.chatMessages().length, 3);
  });

  test('cancelling stops the calls in flight and leaves the session usable', async () => {
    const abort = new AbortController();
    const running = fixture.session.run(
      `select qianwen_chat('slow ' || i || ' delay:5000') from range(20) t(i)`,
      {
        signal: abort.signal,
      },
    );
    await fixture.upstream.waitUntil(() => fixture.upstream.inFlight() === 8);
    abort.abort();
    await assert.rejects(running, (error: Error & { code: string }) => error.code === 'aborted');
    await fixture.upstream.waitUntil(() => fixture.upstream.inFlight() === 0);
    assert.deepEqual(await fixture.session.run('select 40 + 2 as answer'), [{ answer: 42 }]);
  });
});
