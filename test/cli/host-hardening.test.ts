/**
 * The CLI and its state as a hostile neighbour would try them, through the real `byzerllm` CLI and a
 * real head: config files cannot run code, credential headers and keys stay out of world-readable
 * files, `ps` and output, the state directory must be the user's own, crashed writers' temporary
 * files are cleaned up, and deployment names keep to one safe character set.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { ensureStateDirectory } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const API_KEY = 'sk-hardening-upstream-key';
const HEADER_SECRET = 'hdr-secret-value-1234';

describe('byzerllm CLI and state hardening', () => {
  let upstream: OpenAIUpstream;
  let home: TestHome;
  let serve: ChildProcess | undefined;
  const staleTemporary = 'deployments.json.4194303.0badf00d.tmp';
  const deployArgs = (name: string, apiKeyValue: string, extra: string[] = []) => [
    'deploy',
    '--pretrained_model_type',
    'saas/openai',
    '--infer_params',
    `saas.api_key=${apiKeyValue}`,
    'saas.model=m',
    `saas.base_url=${upstream.url}`,
    'saas.max_retries=0',
    ...extra,
    '--model',
    name,
  ];

  before(async () => {
    upstream = await startOpenAIUpstream({ apiKey: API_KEY });
    home = await createTestHome();
    // A writer that crashed mid-write (its pid is not running) left this behind.
    await fs.writeFile(path.join(home.home, staleTemporary), '{"torn":');
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await home.cleanup();
    await upstream.close();
  });

  test('ENV values in --file substitute variables only: template code is refused and runs nothing', async () => {
    const marker = path.join(home.home, 'pwned');
    const file = path.join(home.home, 'evil.yaml');
    const code = `range.constructor("process.mainModule.require('fs').writeFileSync('${marker}', 'x')")()`;
    await fs.writeFile(
      file,
      [
        'model: evil',
        'pretrained_model_type: saas/openai',
        'infer_params:',
        `  saas.api_key: ENV {{ ${code} }}`,
      ].join('\n'),
    );
    const evil = await home.run(['deploy', '--file', file]);
    assert.equal(evil.code, 2, evil.stderr);
    assert.match(evil.stderr, /is not an environment variable name; only \{\{NAME\}\}/);
    await assert.rejects(fs.stat(marker), { code: 'ENOENT' });

    await fs.writeFile(
      file,
      [
        'model: needs_env',
        'pretrained_model_type: saas/openai',
        'infer_params:',
        '  saas.api_key: ENV {{HARDENING_UNSET_VAR}}',
      ].join('\n'),
    );
    const missing = await home.run(['deploy', '--file', file]);
    assert.equal(missing.code, 2);
    assert.deepEqual(stderrWithoutBanner(missing.stderr), [
      'error: ENV value needs the environment variable HARDENING_UNSET_VAR, which is not set',
    ]);
  });

  test('deployment names outside [A-Za-z0-9_-] are refused with the name and the rule', async () => {
    for (const name of ['a.b', '../etc', 'with space']) {
      const result = await home.run(deployArgs(name, API_KEY));
      assert.equal(result.code, 2, result.stderr);
      const lines = stderrWithoutBanner(result.stderr);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`invalid deployment name ${JSON.stringify(name).replace('.', '\\.')}`),
      );
      assert.match(lines[0]!, /letters, digits, "_" or "-"/);
    }
  });

  test('the head removes a crashed writer’s temporary file when it starts', async () => {
    const started = await home.run(['start']);
    assert.equal(started.code, 0, started.stderr);
    await assert.rejects(fs.stat(path.join(home.home, staleTemporary)), { code: 'ENOENT' });
    const log = await fs.readFile(path.join(home.home, 'logs', 'head.log'), 'utf8');
    assert.match(
      log,
      new RegExp(`removed the stale temporary file ${staleTemporary.replaceAll('.', '\\.')}`),
    );
  });

  test('a key given as env:VAR or on stdin works and never appears on the command line', async () => {
    const fromEnvironment = await home.run(deployArgs('key_from_env', 'env:HARDENING_KEY'), {
      env: { HARDENING_KEY: API_KEY },
    });
    assert.equal(fromEnvironment.code, 0, fromEnvironment.stderr);
    const fromStdin = await home.run(deployArgs('key_from_stdin', '-'), { input: `${API_KEY}\n` });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    for (const name of ['key_from_env', 'key_from_stdin']) {
      const query = await home.run(['query', '--model', name, '--query', 'hi']);
      assert.equal(query.stdout, 'echo: hi\n', query.stderr);
    }
    const unset = await home.run(deployArgs('key_missing', 'env:HARDENING_UNSET_KEY'));
    assert.equal(unset.code, 2);
    assert.deepEqual(stderrWithoutBanner(unset.stderr), [
      'error: saas.api_key names the environment variable HARDENING_UNSET_KEY, which is not set',
    ]);
  });

  test('credential headers in saas.headers are secrets: in secrets.json only, masked in output', async () => {
    const headers = JSON.stringify({ 'x-api-key': HEADER_SECRET, 'X-Title': 'hardening' });
    const deploy = await home.run(deployArgs('with_headers', API_KEY, [`saas.headers='${headers}'`]));
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.ok(!deploy.stderr.includes(HEADER_SECRET), deploy.stderr);
    const query = await home.run(['query', '--model', 'with_headers', '--query', 'hi']);
    assert.equal(query.stdout, 'echo: hi\n', query.stderr);
    assert.equal(upstream.requests.at(-1)!.headers['x-api-key'], HEADER_SECRET);

    const deployments = await fs.readFile(path.join(home.home, 'deployments.json'), 'utf8');
    assert.ok(!deployments.includes(HEADER_SECRET), 'deployments.json holds the header secret');
    const secretsFile = path.join(home.home, 'secrets.json');
    assert.ok((await fs.readFile(secretsFile, 'utf8')).includes(HEADER_SECRET));
    assert.equal((await fs.stat(secretsFile)).mode & 0o777, 0o600);

    const list = await home.run(['list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(!list.stdout.includes(HEADER_SECRET));
    const listed = (JSON.parse(list.stdout) as { name: string; inferParams: Record<string, string> }[]).find(
      (deployment) => deployment.name === 'with_headers',
    )!;
    assert.deepEqual(JSON.parse(listed.inferParams['saas.headers']!), {
      'x-api-key': '******',
      'X-Title': 'hardening',
    });
    const log = await fs.readFile(path.join(home.home, 'logs', 'head.log'), 'utf8');
    assert.ok(!log.includes(HEADER_SECRET) && !log.includes(API_KEY), 'the head log shows a secret');
  });

  test('serve --api_key_file requires the key from the file without showing it', async () => {
    const keyFile = path.join(home.home, 'gateway.key');
    await fs.writeFile(keyFile, 'sk-gateway-from-file\n', { mode: 0o600 });
    serve = spawn(process.execPath, [CLI_ENTRY, 'serve', '--port', '0', '--api_key_file', keyFile], {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: serve.stdout! })[Symbol.asyncIterator]();
    const first = (await lines.next()).value as string;
    assert.match(first, /\(API key required\)/);
    const baseUrl = /(http:\/\/\S+\/v1)/.exec(first)![1]!;
    const withKey = await fetch(`${baseUrl}/models`, {
      headers: { authorization: 'Bearer sk-gateway-from-file' },
    });
    assert.equal(withKey.status, 200);
    const withoutKey = await fetch(`${baseUrl}/models`);
    assert.equal(withoutKey.status, 401);
    const exited = new Promise<number | null>((resolve) => serve!.once('exit', resolve));
    serve.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('a state directory that other users can write to is refused with a clear error', async () => {
    const shared = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-shared-'));
    try {
      await fs.chmod(shared, 0o777);
      const result = await home.run(['list'], { env: { BYZERLLM_HOME: shared } });
      assert.equal(result.code, 2);
      assert.deepEqual(stderrWithoutBanner(result.stderr), [
        `error: state directory ${shared} is writable by other users (mode 777); use a directory of your own (BYZERLLM_HOME) or run: chmod 700 ${shared}`,
      ]);
      await assert.rejects(fs.stat(path.join(shared, 'head.json')), { code: 'ENOENT' });
    } finally {
      await fs.rm(shared, { recursive: true, force: true });
    }
  });
});

test('a state directory owned by another user is refused (it could hold a planted head.json)', async () => {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-foreign-'));
  try {
    const owner = (await fs.stat(directory)).uid;
    await ensureStateDirectory(directory, { uid: owner });
    await assert.rejects(ensureStateDirectory(directory, { uid: owner + 1 }), {
      code: 'invalid_argument',
      message: `state directory ${directory} is owned by uid ${owner}, not by you (uid ${owner + 1}); use a directory of your own (BYZERLLM_HOME)`,
    });
  } finally {
    await fs.rm(directory, { recursive: true, force: true });
  }
});
