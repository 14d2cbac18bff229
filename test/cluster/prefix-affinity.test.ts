/**
 * Prefix affinity end to end: a deployment of two llama_cpp worker processes on the tiny GGUF with
 * `loadBalance: prefix_affinity`. A 20-turn conversation stays on the worker of its first turn
 * (read from the per-worker request counts of `stat`), while a second conversation, started when
 * both workers are free, goes to the other worker.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import type { ChatMessage } from '../../src/core/index.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let head: Head;

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-affinity-'));
  const { path: modelPath } = await ensureTinyLlamaModel(directory);
  head = new Head({
    store: new DeploymentStore(path.join(directory, 'state')),
    transport: createProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  await head.deploy({
    name: 'tiny',
    pretrainedModelType: 'custom/auto',
    inferBackend: 'llama_cpp',
    modelPath,
    numWorkers: 2,
    workerConcurrency: 1,
    loadBalance: 'prefix_affinity',
    inferParams: { max_tokens: '4' },
  });
});

after(async () => {
  await head?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

/** Sends one turn and answers the index of the worker that served it (the one whose count grew). */
async function turn(messages: ChatMessage[]): Promise<{ worker: number; text: string }> {
  const before = (await head.stat('tiny')).total_requests;
  const result = await head.call('tiny', 'chat', { messages, maxTokens: 4, seed: 1 });
  const after = (await head.stat('tiny')).total_requests;
  const grown = after.flatMap((count, index) => (count > before[index]! ? [index] : []));
  assert.equal(grown.length, 1, `one worker served the turn (counts ${before} → ${after})`);
  return { worker: grown[0]!, text: result.text };
}

test('a 20-turn conversation stays on one llama_cpp worker; another conversation takes the other', async () => {
  const system = 'You are the support assistant of a coffee machine maker. '.repeat(6);
  const first: ChatMessage[] = [{ role: 'system', content: 'Answer tersely about trains. '.repeat(8) }];
  const second: ChatMessage[] = [{ role: 'system', content: system }];
  const workers: number[] = [];
  let other: number | undefined;
  for (let index = 0; index < 20; index++) {
    first.push({ role: 'user', content: `question ${index} about the timetable` });
    const answer = await turn(first);
    first.push({ role: 'assistant', content: answer.text });
    workers.push(answer.worker);
    if (index === 0) {
      second.push({ role: 'user', content: 'how do I descale it?' });
      other = (await turn(second)).worker;
    }
  }
  assert.deepEqual(workers, Array(20).fill(workers[0]));
  assert.notEqual(other, workers[0]);
  const stat = await head.stat('tiny');
  assert.equal(stat.load_balance_strategy, 'prefix_affinity');
});
