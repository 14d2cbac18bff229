/**
 * `custom/auto` chat on the transformers backend as a user deploys it: the real `byzerllm` CLI and
 * head, the project's tiny llama exported to ONNX by torch, then `byzerllm query`. The answer must be
 * the plain torch model's greedy answer to the same prompt.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import {
  ensureTinyLlamaOnnx,
  type GreedyReference,
  greedyReference,
  renderedUserTurn,
} from '../support/tiny-onnx/tiny-llama-onnx.js';

describe('byzerllm deploy custom/auto --infer_backend transformers', () => {
  let home: TestHome;
  let folder: string;
  let expected: GreedyReference;

  before(async () => {
    const model = await ensureTinyLlamaOnnx();
    folder = model.folder;
    expected = await greedyReference(model, renderedUserTurn('hello'), 10);
    home = await createTestHome();
    const start = await home.run(['start']);
    assert.equal(start.code, 0, start.stderr);
  });
  after(async () => {
    await home?.cleanup();
  });

  test("deploy the ONNX folder, then query answers with the torch model's greedy text", async () => {
    const deploy = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/auto',
      '--infer_backend',
      'transformers',
      '--model_path',
      folder,
      '--default_params',
      'max_tokens=10',
      '--model',
      'tiny-onnx-chat',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.equal(deploy.stdout, 'Model tiny-onnx-chat deployed successfully\n');
    const query = await home.run(['query', '--model', 'tiny-onnx-chat', '--query', 'hello']);
    assert.equal(query.code, 0, query.stderr);
    assert.ok(expected.text.length > 0);
    assert.equal(query.stdout, `${expected.text}\n`);
  });

  test('query --stream --json sends several text pieces that make up the same answer', async () => {
    const query = await home.run([
      'query',
      '--model',
      'tiny-onnx-chat',
      '--query',
      'hello',
      '--stream',
      '--json',
    ]);
    assert.equal(query.code, 0, query.stderr);
    const lines = query.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const text = lines.map((line) => (typeof line.delta === 'string' ? line.delta : '')).join('');
    assert.ok(lines.filter((line) => typeof line.delta === 'string').length > 1, query.stdout);
    assert.equal(text, expected.text);
  });
});
