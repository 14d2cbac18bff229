/**
 * The foundation, as a new user tries it: the real `byzerllm` CLI in real processes, a real head,
 * and a local OpenAI-compatible upstream started by the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readHeadFile } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const API_KEY = 'sk-cli-test-secret-key';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('byzerllm CLI against a local OpenAI-compatible upstream', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;
  const deployArgs = (name: string, baseUrl: string, extra: string[] = []) => [
    'deploy',
    '--pretrained_model_type',
    'saas/openai',
    '--num_workers',
    '2',
    '--worker_concurrency',
    '4',
    '--infer_params',
    `saas.api_key=${API_KEY}`,
    'saas.model=m',
    `saas.base_url=${baseUrl}`,
    'saas.max_retries=0',
    ...extra,
    '--model',
    name,
  ];

  before(async () => {
    upstream = await startOpenAIUpstream({ apiKey: API_KEY });
    home = await createTestHome();
  });
  after(async () => {
    await home.cleanup();
    await upstream.close();
  });

  test('deploy prints success and never the api key', async () => {
    const result = await home.run(deployArgs('gpt_chat', upstream.url));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Model gpt_chat deployed successfully\n');
    assert.match(result.stderr, /Command Line Arguments:/);
    assert.match(result.stderr, /saas\.api_key":"\*\*\*\*\*\*"/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(API_KEY));
  });

  test('query prints the upstream answer', async () => {
    const result = await home.run(['query', '--model', 'gpt_chat', '--query', 'hello']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'echo: hello\n');
    const sent = upstream.requests.at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${API_KEY}`);
  });

  test('query --stream prints the same answer as it is generated', async () => {
    const result = await home.run(['query', '--model', 'gpt_chat', '--query', 'hello there', '--stream']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'echo: hello there\n');
  });

  test('stat prints the seed JSON with total_workers 2', async () => {
    const result = await home.run(['stat', '--model', 'gpt_chat']);
    assert.equal(result.code, 0, result.stderr);
    const stat = JSON.parse(result.stdout);
    assert.equal(stat.total_workers, 2);
    for (const key of [
      'busy_workers',
      'idle_workers',
      'load_balance_strategy',
      'total_requests',
      'state',
      'worker_max_concurrency',
      'workers_last_work_time',
    ]) {
      assert.ok(key in stat, `stat has ${key}`);
    }
    assert.equal(stat.worker_max_concurrency, 4);
    assert.equal(stat.load_balance_strategy, 'lru');
  });

  test('stat --interval prints again until Ctrl+C, then says it stopped', async () => {
    const child = spawn(process.execPath, [CLI_ENTRY, 'stat', '--model', 'gpt_chat', '--interval', '1'], {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve()); // a failure must not hang the test
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.split('\n}\n').length > 2) resolve(); // two complete JSON documents
      });
    });
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const documents = stdout
      .split('\n}\n')
      .slice(0, 2)
      .map((text) => JSON.parse(`${text}\n}`));
    assert.deepEqual(
      documents.map((document) => document.total_workers),
      [2, 2],
    );
    assert.match(stdout, /Stat printing stopped\.\n$/);
  });

  test('40 concurrent queries spread over both workers, never more than 4 in flight on one', async () => {
    const before = JSON.parse((await home.run(['stat', '--model', 'gpt_chat'])).stdout)
      .total_requests as number[];
    upstream.reset();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        home.run(['query', '--model', 'gpt_chat', '--query', `delay:400 question ${index}`]),
      ),
    );
    for (const [index, result] of results.entries()) {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `echo: delay:400 question ${index}\n`);
    }
    const stat = JSON.parse((await home.run(['stat', '--model', 'gpt_chat'])).stdout);
    const added = (stat.total_requests as number[]).map((count, index) => count - before[index]!);
    assert.equal(
      added.reduce((sum, count) => sum + count, 0),
      40,
    );
    assert.ok(
      added.every((count) => count > 0),
      `both workers served requests: ${added}`,
    );
    for (const worker of stat.worker_state) assert.ok(worker.peak_active_task <= 4);
    assert.ok(upstream.peakInFlight() <= 8, `upstream saw ${upstream.peakInFlight()} at once`);
  });

  test('deploying an existing name says so and changes nothing', async () => {
    const result = await home.run(deployArgs('gpt_chat', upstream.url, ['--num_workers', '3']));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Model gpt_chat already deployed\n');
    assert.match(
      result.stderr,
      /gpt_chat exists with a different spec: numWorkers 2 \(this deploy asked for 3\)/,
    );
    assert.equal(JSON.parse((await home.run(['stat', '--model', 'gpt_chat'])).stdout).total_workers, 2);
  });

  test('after byzerllm stop, the next command brings the head and the deployment back', async () => {
    const listBefore = JSON.parse((await home.run(['list', '--json'])).stdout);
    const stop = await home.run(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /head stopped/);
    assert.equal(await readHeadFile(home.home), undefined);
    const stat = await home.run(['stat', '--model', 'gpt_chat']);
    assert.equal(stat.code, 0, stat.stderr);
    assert.match(stat.stderr, /started one/);
    assert.equal(JSON.parse(stat.stdout).total_workers, 2);
    const listAfter = JSON.parse((await home.run(['list', '--json'])).stdout);
    // The same deployments come back; only when they started differs (the head restarted them).
    const withoutStart = (list: Array<Record<string, unknown>>) => list.map(({ startedAt, ...rest }) => rest);
    assert.deepEqual(withoutStart(listAfter), withoutStart(listBefore));
    assert.ok(
      listAfter.every(
        (entry: { startedAt?: string }, index: number) => entry.startedAt !== listBefore[index].startedAt,
      ),
    );
    const query = await home.run(['query', '--model', 'gpt_chat', '--query', 'again']);
    assert.equal(query.stdout, 'echo: again\n');
  });

  test('a config file with ENV values deploys like flags', async () => {
    const file = path.join(home.home, 'deploy.yaml');
    await fs.writeFile(
      file,
      [
        'model: from_file',
        'pretrained_model_type: saas/openai',
        'num_workers: 1',
        'infer_params:',
        '  saas.api_key: ENV {{CLI_TEST_KEY}}',
        `  saas.base_url: ${upstream.url}`,
        '  saas.model: m',
      ].join('\n'),
    );
    const deploy = await home.run(['deploy', '--file', file], { env: { CLI_TEST_KEY: API_KEY } });
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.ok(!deploy.stderr.includes(API_KEY));
    const query = await home.run([
      'query',
      '--model',
      'from_file',
      '--query',
      'via yaml',
      '--ray_address',
      'auto',
    ]);
    assert.equal(query.stdout, 'echo: via yaml\n');
  });

  test('--template and --default_params stay with the deployment and reach the upstream', async () => {
    const deploy = await home.run(
      deployArgs('with_defaults', upstream.url, [
        '--template',
        'qwen',
        '--default_params',
        'temperature=0.25',
        'max_tokens=77',
      ]),
    );
    assert.equal(deploy.code, 0, deploy.stderr);
    const listed = (
      JSON.parse((await home.run(['list', '--json'])).stdout) as Record<string, unknown>[]
    ).find((deployment) => deployment.name === 'with_defaults')!;
    assert.equal(listed.template, 'qwen');
    assert.deepEqual(listed.generationDefaults, { temperature: '0.25', max_tokens: '77' });
    const query = await home.run(['query', '--model', 'with_defaults', '--query', 'defaults?']);
    assert.equal(query.stdout, 'echo: defaults?\n');
    const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
    assert.deepEqual([body.temperature, body.max_tokens], [0.25, 77]);
    const bad = await home.run(deployArgs('bad_template', upstream.url, ['--template', 'mistral']));
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--template <name>' argument 'mistral' is invalid\. Allowed choices are auto, default, llama, qwen, yi, empty/,
    );
  });

  describe('bad input gives one line, a non-zero exit, no stack, and the head keeps running', () => {
    const cases: { name: string; args: () => Promise<string[]>; code: number; message: RegExp }[] = [
      {
        name: 'unknown flag',
        args: async () => ['deploy', '--bogus'],
        code: 2,
        message: /unknown option '--bogus'/,
      },
      {
        name: 'missing --model',
        args: async () => ['query', '--query', 'hi'],
        code: 2,
        message: /missing --model/,
      },
      {
        name: 'malformed --infer_params',
        args: async () => [
          'deploy',
          '--model',
          'x',
          '--pretrained_model_type',
          'saas/openai',
          '--infer_params',
          'novalue',
        ],
        code: 2,
        message: /malformed --infer_params entry "novalue": expected key=value/,
      },
      {
        name: 'unknown pretrained_model_type',
        args: async () => ['deploy', '--model', 'x', '--pretrained_model_type', 'saas/nope'],
        code: 2,
        message: /unknown pretrained_model_type "saas\/nope"; allowed: saas\/openai/,
      },
      {
        name: 'unknown infer_backend',
        args: async () => [
          'deploy',
          '--model',
          'x',
          '--pretrained_model_type',
          'custom/auto',
          '--infer_backend',
          'foo',
        ],
        code: 2,
        message: /one of llama_cpp, vllm, transformers; got "foo"/,
      },
      {
        name: 'a non-numeric --num_workers',
        args: async () => ['deploy', '--model', 'x', '--num_workers', 'many'],
        code: 2,
        message: /"many" is not a positive integer/,
      },
      {
        name: 'an unknown deployment',
        args: async () => ['query', '--model', 'nope', '--query', 'hi'],
        code: 3,
        message: /no deployment named nope/,
      },
      {
        name: 'an unreachable upstream',
        args: async () => {
          const dead = `http://127.0.0.1:${await closedPort()}/v1`;
          const deploy = await home.run(deployArgs('dead_upstream', dead));
          assert.equal(deploy.code, 0, deploy.stderr);
          return ['query', '--model', 'dead_upstream', '--query', 'hi'];
        },
        code: 5,
        message: /cannot reach saas\/openai at http:\/\/127\.0\.0\.1:\d+\/v1/,
      },
      ...[401, 429, 500].map((status) => ({
        name: `upstream ${status}`,
        args: async () => ['query', '--model', 'gpt_chat', '--query', `fail:${status}`],
        code: 5,
        message: new RegExp(`HTTP ${status}`),
      })),
    ];

    for (const { name, args, code, message } of cases) {
      test(name, async () => {
        const pidBefore = (await readHeadFile(home.home))?.pid;
        const result = await home.run(await args());
        assert.equal(result.code, code, result.stderr);
        const lines = stderrWithoutBanner(result.stderr);
        assert.equal(lines.length, 1, `one line, got: ${JSON.stringify(lines)}`);
        assert.match(lines[0]!, /^error: /);
        assert.match(lines[0]!, message);
        assert.ok(!result.stderr.includes('    at '), 'no stack trace');
        assert.ok(!result.stderr.includes(API_KEY), 'no api key');
        assert.equal((await readHeadFile(home.home))?.pid, pidBefore, 'the head kept running');
      });
    }
  });

  test('undeploy removes the deployment', async () => {
    const result = await home.run(['undeploy', '--model', 'gpt_chat']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Model gpt_chat undeployed successfully\n');
    const list = JSON.parse((await home.run(['list', '--json'])).stdout) as { name: string }[];
    assert.ok(!list.some((deployment) => deployment.name === 'gpt_chat'));
    const query = await home.run(['query', '--model', 'gpt_chat', '--query', 'hi']);
    assert.equal(query.code, 3);
  });
});
