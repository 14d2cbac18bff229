/**
 * `embRerank` against a real reranker: the tiny ONNX cross-encoder on the transformers engine,
 * deployed in-process through `SimpleByzerLLM` (no head process).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SimpleByzerLLM } from '../../src/client/index.js';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';

let folder: string;
let llm: SimpleByzerLLM;

before(async () => {
  folder = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-rerank-'));
  await writeTinyBertModel(folder, { task: 'rerank' });
  llm = new SimpleByzerLLM();
  llm.setupInferBackend('transformers');
  await llm.deploy({ udfName: 'reranker', pretrainedModelType: 'custom/bge_rerank', modelPath: folder });
  llm.setupDefaultReRankModelName('reranker');
});

after(async () => {
  await llm?.close();
  await fs.rm(folder, { recursive: true, force: true });
});

test('embRerank scores every pair, best first, the same score whatever else is in the batch', async () => {
  const pairs: [string, string][] = [
    ['what is a cat', 'a cat is a small animal'],
    ['what is a cat', 'the stock market fell today'],
    ['what is a cat', 'cats purr and sleep a lot'],
  ];
  const ranked = await llm.embRerank(pairs, 'reranker');
  assert.equal(ranked.length, 3);
  assert.deepEqual([...ranked.map(([pair]) => pair[1])].sort(), pairs.map((pair) => pair[1]).sort());
  for (let index = 1; index < ranked.length; index++) assert.ok(ranked[index - 1]![1] >= ranked[index]![1]);
  const [single] = await llm.embRerank(pairs[1]!, 'reranker');
  const inBatch = ranked.find(([pair]) => pair[1] === pairs[1]![1])![1];
  assert.ok(Math.abs(single![1] - inBatch) < 1e-5, `${single![1]} vs ${inBatch}`);
});

test("Byzer-LLM's t[0].output: the scored pair for one pair, the sorted list for several", async () => {
  const pairs: [string, string][] = [
    ['what is panda?', 'hi'],
    ['what is panda?', 'the giant panda is a bear species endemic to China'],
  ];
  const ranked = await llm.embRerank(pairs, 'reranker');
  assert.deepEqual(
    ranked[0]!.output,
    ranked.map((item) => [...item]),
  );
  const single = await llm.embRerank(['query', 'passage'], 'reranker');
  assert.deepEqual(single[0]!.output, [['query', 'passage'], single[0]![1]]);
  assert.equal(JSON.stringify(single), JSON.stringify([[['query', 'passage'], single[0]![1]]]));
});
