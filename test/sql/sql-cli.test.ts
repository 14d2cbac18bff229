/**
 * `byzerllm sql` and `/model/predict` end to end: the real CLI, a real head process, models deployed
 * on the echoing OpenAI stand-in, real DuckDB; the quick guide's examples as written.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const execFileAsync = promisify(execFile);

const QUICK_GUIDE = `-- 连接一个已经部署好的模型
!byzerllm setup single;

run command as LLM.\`\` where
action="infer"
and reconnect="true"
and pretrainedModelType="saas/*"
and udfName="qianwen_chat";

--%chat
--%model=qianwen_chat
--%output=q1

你好，请记住我的名字，我叫祝威廉。如果记住了，请说记住。

--%chat
--%model=qianwen_chat
--%input=q1
--%output=q2

请问我叫什么名字？

--%sql
select
kimi_chat(llm_param(map(
              "instruction",'我是威廉，请记住我是谁。'
)))

as response as table1;

select llm_result(response) as result from table1 as output;

--%sql
select
kimi_chat(llm_stack(response,llm_param(map(
              "instruction",'请问我是谁？'
))))

as response from table1
as table2;

select llm_result(response) as result from table2 as output;
`;

describe('byzerllm sql', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;
  let params: string[];
  const chatMessages = () =>
    upstream.requests
      .filter((request) => request.path === '/v1/chat/completions')
      .map((request) => (request.body as { messages: { role: string; content: string }[] }).messages);

  before(async () => {
    home = await createTestHome();
    upstream = await startOpenAIUpstream();
    params = [
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.model=echo',
      'saas.max_retries=0',
    ];
    for (const model of ['qianwen_chat', 'kimi_chat']) {
      const deployed = await home.run([
        'deploy',
        '--pretrained_model_type',
        'saas/openai',
        '--num_workers',
        '2',
        '--worker_concurrency',
        '4',
        '--infer_params',
        ...params,
        '--model',
        model,
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
    }
  });
  after(async () => {
    await home.cleanup();
    await upstream.close();
  });

  test("the quick guide's notebook runs as written with -f: chat cells remember, SQL answers", async () => {
    const script = path.join(home.home, 'guide.sql');
    await fs.writeFile(script, QUICK_GUIDE);
    upstream.reset();
    const result = await home.run(['sql', '-f', script]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout.split('\n').filter((line) => !/^-+$/.test(line)),
      [
        'echo: 你好，请记住我的名字，我叫祝威廉。如果记住了，请说记住。',
        'echo: 请问我叫什么名字？',
        'result',
        'echo: 我是威廉，请记住我是谁。',
        '(1 row)',
        'result',
        'echo: 请问我是谁？',
        '(1 row)',
        '',
      ],
    );
    const messages = chatMessages();
    assert.equal(messages.length, 4);
    assert.deepEqual(
      messages[1]?.map((message) => message.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(messages[3]?.[1], { role: 'assistant', content: 'echo: 我是威廉，请记住我是谁。' });
  });

  test("003's SQL with -f: setup + run command as LLM deploys a model, then a query calls it (--output json)", async () => {
    const where = params.map((param) => param.split('=')).map(([key, value]) => `and \`${key}\`="${value}"`);
    const script = `!byzerllm setup single;
!byzerllm setup "num_gpus=0";
!byzerllm setup "maxConcurrency=1";

run command as LLM.\`\` where
action="infer"
and pretrainedModelType="saas/openai"
${where.join('\n')}
and reconnect="false"
and udfName="llama2_chat"
and modelTable="command";

select
llama2_chat(llm_param(map(
              "user_role","User",
              "assistant_role","Assistant",
              "system_msg",'You are a helpful assistant. Think it over and answer the user question correctly.',
              "instruction",llm_prompt('
Please remenber my name: {0}
',array("Zhu William"))

))) as q
as q1;

select llm_result(q) as answer from q1;`;
    const file = path.join(home.home, 'llama2.sql');
    await fs.writeFile(file, script);
    const result = await home.run(['sql', '-f', file, '--output', 'json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [
      { answer: 'echo: \nPlease remenber my name: Zhu William\n' },
    ]);
  });

  test('--output csv and parquet (to --output_file) write the last result', async () => {
    const query = `select i, llm_result(qianwen_chat('n' || i)) as answer from range(3) t(i) order by i`;
    const csv = await home.run(['sql', '-e', query, '--output', 'csv']);
    assert.equal(csv.stdout, 'i,answer\n0,echo: n0\n1,echo: n1\n2,echo: n2\n');
    const file = path.join(home.home, 'out.parquet');
    const parquet = await home.run(['sql', '-e', query, '--output', 'parquet', '--output_file', file]);
    assert.equal(parquet.code, 0, parquet.stderr);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const rows = (
      await connection.runAndReadAll(`select answer from read_parquet('${file}') order by i`)
    ).getRows();
    connection.closeSync();
    instance.closeSync();
    assert.deepEqual(rows, [['echo: n0'], ['echo: n1'], ['echo: n2']]);
  });

  test('errors are one line with the statement position and exit code 2', async () => {
    const result = await home.run(['sql', '-e', 'select 1;\nsave t as parquet.nowhere;']);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'error: line 2, column 19: expected a path in backticks after "parquet.", e.g. parquet.`data.parquet`, found "nowhere"\n',
    );
  });

  test('the shell: multi-line statements, an error does not end it, Ctrl+C cancels the running statement', async () => {
    const shell = spawn(process.execPath, [CLI_ENTRY, 'sql'], {
      env: home.env,
    }) as ChildProcessWithoutNullStreams;
    let stdout = '';
    let stderr = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    shell.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => shell.once('close', resolve));
    upstream.reset();
    shell.stdin.write('select\n  1 + 1 as two;\nselect * from missing;\n');
    shell.stdin.write("select qianwen_chat('slow ' || i || ' delay:5000') from range(4) t(i);\n");
    await upstream.waitUntil(() => upstream.inFlight() === 4);
    shell.kill('SIGINT');
    await upstream.waitUntil(() => upstream.inFlight() === 0);
    shell.stdin.end('select 40 + 2 as answer;\n');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /two\n---\n2\n\(1 row\)\n/);
    assert.match(stdout, /answer\n------\n42\n\(1 row\)\n/);
    assert.match(stderr, /error: line 1, column 1: Catalog Error: Table with name missing does not exist!/);
    assert.match(stderr, /error: .*cancelled/);
  });
});

test('SQL without model calls needs no head; --database keeps tables between runs', async () => {
  const fresh = await createTestHome();
  try {
    const database = path.join(fresh.home, 'work.duckdb');
    const created = await fresh.run([
      'sql',
      '--database',
      database,
      '-e',
      'create table kept as select 42 as answer;',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const read = await fresh.run([
      'sql',
      '--database',
      database,
      '-e',
      'select answer from kept',
      '--output',
      'json',
    ]);
    assert.deepEqual(JSON.parse(read.stdout), [{ answer: 42 }]);
    await assert.rejects(fs.access(path.join(fresh.home, 'head.json')));
  } finally {
    await fresh.cleanup();
  }
});

describe('POST /model/predict', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;
  before(async () => {
    home = await createTestHome();
    upstream = await startOpenAIUpstream();
    const deployed = await home.run([
      'deploy',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      '--model',
      'qianwen_chat',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await home.cleanup();
    await upstream.close();
  });

  /** The quick guide's Python `request(sql, json_data)`, as curl. */
  async function predict(url: string, key?: string): Promise<{ status: number; body: unknown }> {
    const { stdout } = await execFileAsync('curl', [
      '-s',
      '-w',
      '\n%{http_code}',
      ...(key ? ['-H', `authorization: Bearer ${key}`] : []),
      '--data-urlencode',
      'sessionPerUser=true',
      '--data-urlencode',
      'sessionPerRequest=true',
      '--data-urlencode',
      'owner=william',
      '--data-urlencode',
      'dataType=string',
      '--data-urlencode',
      'sql=select qianwen_chat(array(feature)) as value',
      '--data-urlencode',
      `data=${JSON.stringify([{ instruction: '你好' }])}`,
      `${url}/model/predict`,
    ]);
    const lines = stdout.split('\n');
    return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) };
  }

  for (const key of [undefined, 'sk-gateway']) {
    test(`the quick guide's Python snippet as curl, ${key ? 'with' : 'without'} an API key`, async () => {
      const serve = spawn(
        process.execPath,
        [CLI_ENTRY, 'serve', '--port', '0', ...(key ? ['--api_key', key] : [])],
        {
          env: home.env,
        },
      );
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let output = '';
          serve.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            output += chunk;
            const match = /API at (http:\/\/[\d.:]+)\/v1/.exec(output);
            if (match) resolve(match[1]!);
          });
          serve.once('close', () => reject(new Error(`serve exited: ${output}`)));
        });
        const answer = await predict(url, key);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const rows = answer.body as { value: string[] }[];
        assert.equal(JSON.parse(rows[0]!.value[0]!).output, 'echo: 你好');
        if (key) {
          const refused = await predict(url);
          assert.equal(refused.status, 401);
          assert.match(JSON.stringify(refused.body), /missing or wrong API key/);
        }
      } finally {
        const closed = new Promise((resolve) => serve.once('close', resolve));
        serve.kill('SIGINT');
        await closed;
      }
    });
  }
});
