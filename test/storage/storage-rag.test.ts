/**
 * The RAG example of docs/storage.md (`examples/storage-rag.ts`) end to end: markdown files chunked
 * and written with real embeddings (the tiny ONNX BERT as `emb`), a hybrid query, and a chat model
 * (the local OpenAI stand-in, which echoes its prompt) answering through a prompt function.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';
import { ByzerStorage, openLocalStore, type StorageService } from '../../src/storage/index.js';
import { chunkMarkdown, main } from '../../examples/storage-rag.js';
import { type ClientFixture, startClientFixture } from '../client/client-fixture.js';

let fixture: ClientFixture;
let root: string;
let store: StorageService;

before(async () => {
  fixture = await startClientFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-rag-'));
  await writeTinyBertModel(path.join(root, 'bge'), { task: 'embedding' });
  fixture.llm.setupInferBackend('transformers');
  await fixture.llm.deploy({
    udfName: 'emb',
    pretrainedModelType: 'custom/bge',
    modelPath: path.join(root, 'bge'),
  });
  store = openLocalStore({ directory: path.join(root, 'storage'), cluster: fixture.head });
  const docs = path.join(root, 'docs');
  await fs.mkdir(docs);
  await fs.writeFile(
    path.join(docs, 'deploy.md'),
    '# Deploy\n\nRun byzerllm deploy with --pretrained_model_type to start a model.\n\nUse --num_workers for more workers.',
  );
  await fs.writeFile(
    path.join(docs, 'storage.md'),
    '# 存储\n\n向量检索和全文检索都在存储里。\n\n混合检索用倒数排名融合。',
  );
  await fs.writeFile(path.join(docs, 'notes.txt'), 'not markdown: never loaded');
});

after(async () => {
  store?.close();
  await fixture?.close();
  await fs.rm(root, { recursive: true, force: true });
});

test('chunkMarkdown packs paragraphs up to the size', () => {
  assert.deepEqual(chunkMarkdown('a\n\nb\n\n\nc', 4), ['a\n\nb', 'c']);
  assert.deepEqual(chunkMarkdown(''), []);
});

test('the RAG example answers from the retrieved chunks', async () => {
  const storage = new ByzerStorage('byzerai_store', 'rag', 'chunks', { connection: store });
  const { answer, sources } = await main(fixture.llm, path.join(root, 'docs'), '混合检索怎么融合？', storage);
  assert.equal(sources[0], 'storage.md#0');
  // The stand-in echoes the prompt: the retrieved chunk and its file reached the chat model.
  assert.match(answer, /<document file="storage.md">/);
  assert.match(answer, /倒数排名融合/);
  assert.match(answer, /Question: 混合检索怎么融合？/);
  assert.equal((await storage.describe()).rows, 2, 'one chunk per markdown file, no .txt');
});
