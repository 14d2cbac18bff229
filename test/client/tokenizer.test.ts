/**
 * Byzer-LLM's `tokenize(model, s)` and `apply_chat_template(model, s)` through the client, on the
 * project's tiny GGUF served by llama_cpp in a worker process (the process transport), so the calls
 * cross the head → worker IPC boundary as in a real deployment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ByzerLLM } from '../../src/client/index.js';
import { createProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let head: Head;
let llm: ByzerLLM;

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-tokenizer-'));
  const { path: modelPath } = await ensureTinyLlamaModel(directory);
  head = new Head({
    store: new DeploymentStore(path.join(directory, 'state')),
    transport: createProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  llm = new ByzerLLM({ cluster: head });
  await llm.setupInferBackend('llama_cpp').deploy({
    udfName: 'tiny',
    pretrainedModelType: 'custom/auto',
    modelPath,
  });
});

after(async () => {
  await head?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

test('tokenize(model, s)[0].output: the same ids for the same text, more ids for more text', async () => {
  const [short] = await llm.tokenize('tiny', 'hello world');
  const [again] = await llm.tokenize('tiny', 'hello world');
  const [longer] = await llm.tokenize('tiny', 'hello world, hello again world');
  assert.ok(short!.output.length > 0 && short!.output.every((id) => Number.isInteger(id) && id >= 0));
  assert.deepEqual(again!.output, short!.output);
  assert.ok(longer!.output.length > short!.output.length);
});

test("applyChatTemplate renders the conversation with the model's template and the assistant's opening", async () => {
  const text = await llm.applyChatTemplate('tiny', [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello there' },
  ]);
  assert.ok(text.includes('Be brief.') && text.includes('hello there'), text);
  assert.ok(text.indexOf('Be brief.') < text.indexOf('hello there'));
  const answered = await llm.applyChatTemplate('tiny', [
    { role: 'user', content: 'hello there' },
    { role: 'assistant', content: 'hi' },
  ]);
  assert.ok(answered.includes('hi'));
  await assert.rejects(llm.tokenize('missing', 'x'), { name: 'NotFoundError' });
});
