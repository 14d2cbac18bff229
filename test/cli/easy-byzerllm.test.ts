/**
 * `easy-byzerllm` as a new user runs it: the real bin in a child process, a real head, and local
 * stand-ins in place of DeepSeek (OpenAI-compatible) and DashScope.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { type CliResult, createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';
import { type DashScopeUpstream, startDashScopeUpstream } from '../support/dashscope-upstream.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const EASY_ENTRY = fileURLToPath(new URL('../../src/cli/easy-byzerllm.js', import.meta.url));
const TOKEN = 'sk-easy-token-1234';
const PLACEHOLDER = '$' + '{MODEL_TOKEN}';

function runEasy(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EASY_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('easy-byzerllm', () => {
  let home: TestHome;
  let deepseek: OpenAIUpstream;
  let dashscope: DashScopeUpstream;
  const easy = (args: string[]) => runEasy(args, home.env);

  before(async () => {
    home = await createTestHome();
    deepseek = await startOpenAIUpstream({ apiKey: TOKEN });
    dashscope = await startDashScopeUpstream(TOKEN);
  });
  after(async () => {
    await home.cleanup();
    await deepseek.close();
    await dashscope.close();
  });

  test('deploy deepseek-chat --token --base_url, then chat answers through the deployment', async () => {
    const deployed = await easy(['deploy', 'deepseek-chat', '--token', TOKEN, '--base_url', deepseek.url]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal(deployed.stdout, 'Model deepseek-chat deployed successfully\n');
    assert.ok(!`${deployed.stdout}${deployed.stderr}`.includes(TOKEN), 'the token is never printed');
    const chat = await easy(['chat', 'deepseek-chat', 'hello there']);
    assert.equal(chat.code, 0, chat.stderr);
    assert.equal(chat.stdout, 'echo: hello there\n');
    const sent = deepseek.requests.at(-1);
    assert.equal(sent?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal((sent?.body as { model?: string } | undefined)?.model, 'deepseek-chat');
    const stat = await home.run(['stat', '--model', 'deepseek-chat']);
    assert.equal(stat.code, 0, stat.stderr);
    assert.equal(JSON.parse(stat.stdout).total_workers, 1);
  });

  test('qwen-max deploys as saas/qianwen under --alias; --infer_params replaces the template with the token filled in', async () => {
    const aliased = await easy([
      'deploy',
      'qwen-max',
      '--token',
      TOKEN,
      '--alias',
      'qwen',
      '--base_url',
      dashscope.url,
    ]);
    assert.equal(aliased.code, 0, aliased.stderr);
    assert.equal(aliased.stdout, 'Model qwen deployed successfully\n');
    const chat = await easy(['chat', 'qwen', '你好']);
    assert.equal(chat.stdout, 'echo: 你好\n', chat.stderr);
    assert.equal((dashscope.requests.at(-1)?.body as { model?: string } | undefined)?.model, 'qwen-max');

    const custom = await easy([
      'deploy',
      'qwen-max',
      '--token',
      TOKEN,
      '--alias',
      'qwen_turbo',
      '--infer_params',
      `saas.api_key=${PLACEHOLDER} saas.model=qwen-turbo saas.base_url=${dashscope.url}`,
    ]);
    assert.equal(custom.code, 0, custom.stderr);
    const turbo = await easy(['chat', 'qwen_turbo', 'hi']);
    assert.equal(turbo.stdout, 'echo: hi\n', turbo.stderr);
    const sent = dashscope.requests.at(-1);
    assert.equal((sent?.body as { model?: string } | undefined)?.model, 'qwen-turbo');
    assert.equal(sent?.headers.authorization, `Bearer ${TOKEN}`, 'the placeholder was replaced by the token');
  });

  test('--quiet drops the banner; dashed flags (--base-url, --ray-address) work like the snake_case ones', async () => {
    const loud = await easy([
      'deploy',
      'deepseek-chat',
      '--token',
      TOKEN,
      '--alias',
      'ds_loud',
      '--base_url',
      deepseek.url,
    ]);
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stderr, /Command Line Arguments:/);
    const quiet = await easy([
      '--quiet',
      'deploy',
      'deepseek-chat',
      '--token',
      TOKEN,
      '--alias',
      'ds_quiet',
      '--base-url',
      deepseek.url,
    ]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, 'Model ds_quiet deployed successfully\n');
    const chat = await easy(['-q', 'chat', 'ds_quiet', 'quietly', '--ray-address', 'auto']);
    assert.deepEqual([chat.code, chat.stdout, chat.stderr], [0, 'echo: quietly\n', '']);
    assert.equal(deepseek.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    for (const name of ['ds_loud', 'ds_quiet']) assert.equal((await easy(['-q', 'undeploy', name])).code, 0);
  });

  test('an unknown model fails with the known ones and how to use byzerllm deploy instead', async () => {
    const result = await easy(['deploy', 'no-such-model', '--token', TOKEN]);
    assert.notEqual(result.code, 0);
    const lines = stderrWithoutBanner(result.stderr);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /unknown model "no-such-model"/);
    assert.match(lines[0] ?? '', /deepseek-chat/);
    assert.match(lines[0] ?? '', /byzerllm deploy --pretrained_model_type/);
  });

  test('undeploy removes the deployment; chat then fails naming it', async () => {
    const removed = await easy(['undeploy', 'deepseek-chat']);
    assert.equal(removed.code, 0, removed.stderr);
    const chat = await easy(['chat', 'deepseek-chat', 'anyone?']);
    assert.notEqual(chat.code, 0);
    assert.match(chat.stderr, /deepseek-chat/);
  });
});
