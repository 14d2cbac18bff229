/**
 * The CLI as a script uses it: machine-readable output, quiet stderr, exit codes that answer
 * questions, input from stdin, a closed pipe, dashed flags and the environment. Real `byzerllm`
 * processes, a real head, a local OpenAI-compatible upstream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readHeadFile } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const API_KEY = 'sk-scriptable-cli-key';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the CLI with its stdout closed by the reader before anything is written (`… | head`). */
function runWithClosedStdout(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Runs `printf INPUT | byzerllm ARGS` through a shell: stdin is a real pipe, as in a script. */
function runPiped(
  input: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'printf "%s" "$INPUT" | "$NODE" "$@"', 'sh', CLI_ENTRY, ...args], {
      env: { ...env, INPUT: input, NODE: process.execPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a CLI people can script', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;

  before(async () => {
    upstream = await startOpenAIUpstream({ apiKey: API_KEY });
    home = await createTestHome();
  });
  after(async () => {
    await home.cleanup();
    await upstream.close();
  });

  test('status with no head running exits 6 with one line', async () => {
    const result = await home.run(['status']);
    assert.equal(result.code, 6, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: no head is running \(state in .*\); `byzerllm start` starts one\n$/);
  });

  test('a missing TLS file is a usage error naming the flag and the file, from a flag or the environment', async () => {
    const fromFlag = await home.run(['list', '--nats_tls_ca', '/missing/dir/ca.pem']);
    assert.equal(fromFlag.code, 2, fromFlag.stderr);
    assert.equal(fromFlag.stderr, 'error: --nats_tls_ca: the file /missing/dir/ca.pem does not exist\n');
    const natsPort = await closedPort();
    const fromEnvironment = await home.run(['start', '--head', '--nats', `nats://127.0.0.1:${natsPort}`], {
      env: { BYZERLLM_NATS_TLS_CERT: '/missing/cert.pem', BYZERLLM_NATS_TLS_KEY: '/missing/key.pem' },
    });
    assert.equal(fromEnvironment.code, 2, fromEnvironment.stderr);
    assert.match(
      fromEnvironment.stderr,
      /^error: \$BYZERLLM_NATS_TLS_CERT: the file \/missing\/cert\.pem does not exist\n$/,
    );
    assert.equal(await readHeadFile(home.home), undefined, 'no head was started');
  });

  test('BYZERLLM_ADDRESS chooses the cluster when --address is not given', async () => {
    const port = await closedPort();
    const result = await home.run(['list'], {
      env: { BYZERLLM_ADDRESS: `http://127.0.0.1:${port}`, BYZERLLM_ADMIN_TOKEN: 'some-token' },
    });
    assert.equal(result.code, 6, result.stderr);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(await readHeadFile(home.home), undefined, 'the local head was not auto-started');
  });

  test('dashed flags, --quiet and --json: deploy prints one JSON object and nothing on stderr', async () => {
    const result = await home.run([
      'deploy',
      '--quiet',
      '--json',
      '--model',
      'chat',
      '--pretrained-model-type',
      'saas/openai',
      '--num-workers',
      '2',
      '--worker-concurrency',
      '3',
      '--queue-timeout',
      '7',
      '--infer-params',
      `saas.api_key=${API_KEY}`,
      'saas.model=m',
      `saas.base_url=${upstream.url}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no banner, no "started a head" note');
    assert.deepEqual(JSON.parse(result.stdout), { model: 'chat', status: 'deployed', warnings: [] });
    const list = JSON.parse((await home.run(['list', '--json'])).stdout) as {
      name: string;
      numWorkers: number;
      workerConcurrency: number;
    }[];
    const chat = list.find((deployment) => deployment.name === 'chat');
    assert.equal(chat?.numWorkers, 2);
    assert.equal(chat?.workerConcurrency, 3);
  });

  test('a dashed flag keeps the checks of its original', async () => {
    const result = await home.run(['deploy', '--model', 'x', '--num-workers', 'two']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"two" is not a positive integer/);
  });

  test('without --quiet the banner is still printed', async () => {
    const result = await home.run(['query', '--model', 'chat', '--query', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Command Line Arguments:/);
  });

  test('query --json prints the answer with its finish reason and usage', async () => {
    const result = await home.run(['query', '-q', '--json', '--model', 'chat', '--query', 'hello']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(answer.model, 'chat');
    assert.equal(answer.text, 'echo: hello');
    assert.equal(answer.finish_reason, 'stop');
    assert.equal(typeof (answer.usage as { inputTokens?: unknown }).inputTokens, 'number');
    assert.equal(typeof answer.request_id, 'string');
  });

  test('query --stream --json prints one JSON line per piece, then the finish', async () => {
    const result = await home.run([
      'query',
      '--quiet',
      '--stream',
      '--json',
      '--model',
      'chat',
      '--query',
      'a b c',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; delta?: string; finish_reason?: string });
    assert.ok(lines.length >= 2);
    assert.equal(
      lines
        .filter((line) => line.type === 'text-delta')
        .map((line) => line.delta)
        .join(''),
      'echo: a b c',
    );
    assert.deepEqual(lines.at(-1)?.type, 'finish');
    assert.equal(lines.at(-1)?.finish_reason, 'stop');
  });

  test('--query - reads the message from stdin', async () => {
    const result = await home.run(['query', '--quiet', '--model', 'chat', '--query', '-'], {
      input: 'line one\nline two\n',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'echo: line one\nline two\n');
  });

  test('piped input is the message when --query is not given', async () => {
    const result = await runPiped('from a pipe', ['query', '--quiet', '--model', 'chat'], home.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'echo: from a pipe\n');
    const empty = await runPiped('', ['query', '--quiet', '--model', 'chat'], home.env);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^error: missing --query/);
  });

  for (const stream of [false, true]) {
    test(`a reader that closes the pipe early ends query${stream ? ' --stream' : ''} quietly`, async () => {
      const args = [
        'query',
        '--quiet',
        '--model',
        'chat',
        '--query',
        'hello',
        ...(stream ? ['--stream'] : []),
      ];
      const result = await runWithClosedStdout(args, home.env);
      assert.equal(result.stderr, '', 'no EPIPE stack trace');
      assert.equal(result.code, 0);
    });
  }

  test('undeploy --json, then undeploy of an unknown deployment exits 3', async () => {
    const removed = await home.run(['undeploy', '--quiet', '--json', '--model', 'chat']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(JSON.parse(removed.stdout), { model: 'chat', removed: true });
    const again = await home.run(['undeploy', '--model', 'chat']);
    assert.equal(again.code, 3, again.stderr);
    assert.equal(again.stdout, '');
    assert.deepEqual(stderrWithoutBanner(again.stderr), [
      'error: no deployment named chat; `byzerllm list` shows the deployments',
    ]);
  });
});
