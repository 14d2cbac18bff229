/**
 * Byzer-LLM's documented CLI forms run as written: `deploy --gpu_gpus_per_worker` (its spelling of
 * `--gpus_per_worker`) and `serve --template --prompt_template --response_role --uvicorn_log_level`
 * (accepted; each one that changes nothing here says so, by name, on stderr).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { DeploymentInfo } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

describe('Byzer-LLM CLI flags', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;
  let serve: ChildProcess | undefined;

  before(async () => {
    [home, upstream] = await Promise.all([createTestHome(), startOpenAIUpstream({ apiKey: 'sk-flags' })]);
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await home.cleanup();
    await upstream.close();
  });

  const deployArguments = (name: string, extra: string[]) => [
    'deploy',
    '--pretrained_model_type',
    'saas/openai',
    '--infer_params',
    'saas.api_key=sk-flags',
    `saas.base_url=${upstream.url}`,
    '--model',
    name,
    ...extra,
  ];

  test('deploy --gpu_gpus_per_worker sets the GPUs per worker like --gpus_per_worker', async () => {
    const deployed = await home.run(deployArguments('chat', ['--gpu_gpus_per_worker', '0']));
    assert.equal(deployed.code, 0, deployed.stderr);
    const listed = await home.run(['list', '--json']);
    const chat = (JSON.parse(listed.stdout) as DeploymentInfo[]).find(
      (deployment) => deployment.name === 'chat',
    );
    assert.equal(chat?.gpusPerWorker, 0);
    // A value the machine cannot give (no GPUs here) reaches the scheduler, which refuses it.
    const tooMany = await home.run(deployArguments('gpu_chat', ['--gpu_gpus_per_worker', '64']));
    assert.notEqual(tooMany.code, 0);
    assert.match(tooMany.stderr, /GPU/i);
    const conflicting = await home.run(
      deployArguments('both', ['--gpus_per_worker', '0', '--gpu_gpus_per_worker', '1']),
    );
    assert.equal(conflicting.code, 2, conflicting.stderr);
    assert.match(conflicting.stderr, /--gpus_per_worker 0 and --gpu_gpus_per_worker 1 disagree/);
  });

  test('serve accepts --template --prompt_template --response_role --uvicorn_log_level and names what it ignores', async () => {
    serve = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        'serve',
        '--port',
        '0',
        '--served_model_name',
        'chat',
        '--template',
        'qwen',
        '--prompt_template',
        'qwen',
        '--response_role',
        'assistant',
        '--uvicorn_log_level',
        'info',
      ],
      { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    serve.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const lines = createInterface({ input: serve.stdout! })[Symbol.asyncIterator]();
    const first = (await lines.next()).value as string;
    const baseUrl = /(http:\/\/\S+\/v1)/.exec(first)?.[1];
    assert.ok(baseUrl, `serve printed its address: ${first} ${stderr}`);
    const answer = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi serve' }] }),
    });
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as { choices: { message: { role: string; content: string } }[] };
    assert.deepEqual(body.choices[0]!.message, {
      role: 'assistant',
      content: 'echo: hi serve',
      refusal: null,
    });
    const exited = new Promise<number | null>((resolve) => serve!.once('close', resolve));
    serve.kill('SIGTERM');
    assert.equal(await exited, 0);
    serve = undefined;
    // 'close': the process ended and its stderr was read to the end.
    assert.match(stderr, /warning: --template qwen is accepted for Byzer-LLM compatibility and ignored/);
    assert.match(stderr, /warning: --prompt_template qwen is accepted/);
    assert.match(stderr, /warning: --uvicorn_log_level info is accepted/);
    assert.doesNotMatch(stderr, /--response_role/, 'assistant is what the gateway answers: nothing to warn');
  });

  test('serve rejects a log level uvicorn never had, naming the allowed ones', async () => {
    const result = await home.run(['serve', '--port', '0', '--uvicorn_log_level', 'loud']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /loud/);
    assert.match(result.stderr, /critical, error, warning, info, debug, trace/);
  });
});
