/**
 * What goes wrong before a training job starts is one line on stderr with the right exit code, and
 * no job is created: Python or PyTorch missing (with the apt command), an unsupported architecture,
 * a malformed data row (row and field), GPUs that are not there.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTinyHfModel } from '../../src/train/index.js';
import { createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';

let home: TestHome;
let basePath: string;
let data: string;

before(async () => {
  home = await createTestHome();
  basePath = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
  data = path.join(home.home, 'train.jsonl');
  await fs.writeFile(data, '{"instruction": "Q", "output": "A"}\n');
});
after(async () => {
  await home.cleanup();
});

async function expectError(args: string[], code: number, message: RegExp, env: NodeJS.ProcessEnv = {}) {
  const result = await home.run(args, { env });
  assert.equal(result.code, code, result.stderr);
  const lines = stderrWithoutBanner(result.stderr);
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0]!, message);
  const jobs = await home.run(['jobs', 'list']);
  assert.match(jobs.stdout, /no training jobs/, 'nothing was started');
}

test('python3 missing: names the interpreter and the apt command', async () => {
  await expectError(
    ['finetune', '--model_path', basePath, '--data', data],
    2,
    /^error: training needs Python 3 at \/nonexistent\/python3, which is missing; install it with: apt-get install -y python3 python3-torch/,
    { BYZERLLM_PYTHON: '/nonexistent/python3' },
  );
});

test('torch missing: says to apt-get install python3-torch', async () => {
  // A python that does not see Debian's packages (-S: no site directories).
  const python = path.join(home.home, 'python-without-torch');
  await fs.writeFile(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n', { mode: 0o755 });
  await expectError(
    ['finetune', '--model_path', basePath, '--data', data],
    2,
    /^error: PyTorch is not installed for .*python-without-torch; install it with: apt-get install -y python3-torch/,
    { BYZERLLM_PYTHON: python },
  );
});

test('an unsupported architecture is named', async () => {
  const folder = path.join(home.home, 'gpt2');
  await fs.mkdir(folder, { recursive: true });
  await fs.writeFile(
    path.join(folder, 'config.json'),
    JSON.stringify({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
  );
  await expectError(
    ['finetune', '--model_path', folder, '--data', data],
    2,
    /^error: model architecture \["GPT2LMHeadModel"\] .* is not supported for training; allowed: LlamaForCausalLM/,
  );
});

test('a malformed data row is named with its field', async () => {
  const bad = path.join(home.home, 'bad.jsonl');
  await fs.writeFile(bad, '{"instruction": "Q", "output": "A"}\n{"instruction": "Q2", "answer": "A2"}\n');
  await expectError(
    ['finetune', '--model_path', basePath, '--data', bad],
    2,
    /^error: data row 2: field output: .*\(alpaca format\)$/,
  );
});

test('GPUs that are not there are refused with what torch sees', async () => {
  await expectError(
    ['finetune', '--model_path', basePath, '--data', data, '--gpus_per_worker', '1', '--num_workers', '2'],
    4,
    /^error: the job asks for 2 GPUs \(2 workers × 1\), torch sees 0 on this machine$/,
  );
});

test('--address must be a NATS cluster, and an unreachable one is named before anything starts', async () => {
  await expectError(
    ['finetune', '--model_path', basePath, '--data', data, '--address', 'http://127.0.0.1:1'],
    2,
    /^error: --address http:\/\/127\.0\.0\.1:1: training jobs run on a NATS cluster/,
  );
  // --deploy with --address is served since jobs deploy on the node holding the model
  // (test/cli/nats-distributed-training.test.ts); here only the connection can fail.
  await expectError(
    [
      'finetune',
      '--model_path',
      basePath,
      '--data',
      data,
      '--address',
      'nats://127.0.0.1:1',
      '--deploy',
      'x',
    ],
    6,
    /^error: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: connection refused$/,
  );
});
