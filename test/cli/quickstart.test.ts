/** `byzerllm quickstart` through the real CLI on a fresh $BYZERLLM_HOME: no key, no network. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';

let home: TestHome;
before(async () => {
  home = await createTestHome();
});
after(async () => {
  await home?.cleanup();
});

test('quickstart builds the tiny model, deploys tiny_chat with 2 workers, streams an answer, prints stat and next steps', async () => {
  const first = await home.run(['quickstart']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /\[2\/5\] building or reusing the tiny local model/);
  assert.match(first.stdout, /built .*tiny-llama-v1\.gguf/);
  // The same model in the Hugging Face layout, the base `byzerllm finetune` trains.
  assert.match(first.stdout, /built .*models\/tiny-llama-v1-hf \(for byzerllm finetune\)/);
  const config = JSON.parse(
    await fs.readFile(path.join(home.home, 'models', 'tiny-llama-v1-hf', 'config.json'), 'utf8'),
  );
  assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
  assert.match(first.stdout, /deployed: worker 0 pid \d+, worker 1 pid \d+/);
  const lines = first.stdout.split('\n');
  const answer = lines[lines.findIndex((line) => line.startsWith('[4/5]')) + 1];
  assert.match(answer ?? '', /[a-z]{2,} [a-z]{2,}/, 'a generated answer follows the question');
  assert.match(first.stdout, /"total_workers": 2/);
  assert.match(first.stdout, /Next steps:/);

  const second = await home.run(['quickstart']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /reusing .*tiny-llama-v1\.gguf/);
  assert.match(second.stdout, /reusing .*tiny-llama-v1-hf/);
  assert.match(second.stdout, /already deployed/);
});
