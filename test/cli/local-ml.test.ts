/**
 * Local ML engines as a new user deploys them: the real `byzerllm` CLI and head, the project's tiny
 * ONNX models on disk (transformers backend), and a vLLM stand-in server process (vllm backend),
 * then calls through the cluster (`HeadClient`) as the client and server do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ClusterConnection, connectCluster } from '../../src/cluster/index.js';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';
import { writeTinyWhisperModel } from '../support/tiny-onnx/write-tiny-whisper.js';
import { createTestHome, stderrWithoutBanner, type TestHome } from '../support/cli.js';
import { toneWav } from '../support/wav.js';

const STAND_IN = fileURLToPath(new URL('../support/vllm-stand-in-main.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('byzerllm CLI with the transformers and vllm backends', () => {
  let home: TestHome;
  let client: ClusterConnection;
  let embeddingFolder: string;
  let rerankFolder: string;

  before(async () => {
    home = await createTestHome();
    embeddingFolder = path.join(home.home, 'models', 'tiny-bge');
    rerankFolder = path.join(home.home, 'models', 'tiny-bge-reranker');
    await writeTinyBertModel(embeddingFolder, { task: 'embedding' });
    await writeTinyBertModel(rerankFolder, { task: 'rerank' });
    // The head starts in this process's working directory, not in the model folder's.
    const start = await home.run(['start']);
    assert.equal(start.code, 0, start.stderr);
  });
  after(async () => {
    await home.cleanup();
  });

  test('deploy custom/bge with --infer_backend transformers from a relative folder path', async () => {
    // A relative path, from a directory that is not the head's: the CLI resolves it where it runs.
    const result = await home.run(
      [
        'deploy',
        '--pretrained_model_type',
        'custom/bge',
        '--infer_backend',
        'transformers',
        '--model_path',
        path.join('.', 'tiny-bge'),
        '--num_workers',
        '2',
        '--model',
        'emb',
      ],
      { cwd: path.dirname(embeddingFolder) },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Model emb deployed successfully\n');
    client = await connectCluster({ stateDirectory: home.home, autoStart: false });
  });

  test('embeddings through the cluster: deterministic, distinct, of the meta dimension', async () => {
    const meta = await client.meta('emb');
    assert.equal(meta.backend, 'transformers');
    assert.equal(meta.model_deploy_type, 'proprietary');
    assert.equal(meta.embedding_dimension, 32);
    const first = await client.call('emb', 'embedding', { values: ['hello world', 'spark sql'] });
    const second = await client.call('emb', 'embedding', { values: ['hello world'] });
    assert.equal(first.embeddings.length, 2);
    for (const vector of first.embeddings) assert.equal(vector.length, meta.embedding_dimension);
    assert.notDeepEqual(first.embeddings[0], first.embeddings[1]);
    const [again] = second.embeddings;
    assert.ok(again);
    again.forEach((value, index) => {
      assert.ok(Math.abs(value - first.embeddings[0]![index]!) < 1e-5);
    });
  });

  test('stat shows both bge workers', async () => {
    const stat = JSON.parse((await home.run(['stat', '--model', 'emb'])).stdout) as { total_workers: number };
    assert.equal(stat.total_workers, 2);
  });

  test('chat on an embedding model is refused, naming what it offers', async () => {
    await assert.rejects(
      client.call('emb', 'chat', { messages: [{ role: 'user', content: 'hi' }] }),
      (error: Error & { code?: string }) =>
        error.code === 'unsupported' && /offers: embedding/.test(error.message),
    );
  });

  test('deploy custom/bge_rerank and rerank through the cluster', async () => {
    const deploy = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/bge_rerank',
      '--infer_backend',
      'transformers',
      '--model_path',
      rerankFolder,
      '--model',
      'reranker',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const documents = ['cats are animals', 'the weather is sunny', 'spark sql'];
    const ranked = await client.call('reranker', 'rerank', { query: 'cat', documents, topN: 2 });
    assert.equal(ranked.results.length, 2);
    assert.ok(ranked.results[0]!.score >= ranked.results[1]!.score);
    const all = await client.call('reranker', 'rerank', { query: 'cat', documents });
    assert.deepEqual(all.results.slice(0, 2), ranked.results);
    assert.deepEqual((await client.meta('reranker')).tasks, ['rerank']);
  });

  test('deploy custom/whisper and transcribe WAV bytes through the cluster', async () => {
    const folder = path.join(home.home, 'models', 'tiny-whisper');
    await writeTinyWhisperModel(folder);
    const deploy = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/whisper',
      '--infer_backend',
      'transformers',
      '--model_path',
      folder,
      '--model',
      'asr',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const audio = toneWav(440, 1);
    const first = await client.call('asr', 'transcription', { audio, mediaType: 'audio/wav' });
    const second = await client.call('asr', 'transcription', { audio, mediaType: 'audio/wav' });
    assert.match(first.text, /^[a-z][a-z ]*$/);
    assert.equal(second.text, first.text);
    assert.equal(first.durationSeconds, 1);
  });

  test('a model type on the wrong backend is refused with the allowed backend', async () => {
    const result = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/bge',
      '--infer_backend',
      'llama_cpp',
      '--model_path',
      embeddingFolder,
      '--model',
      'wrong',
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      stderrWithoutBanner(result.stderr).join('\n'),
      /custom\/bge runs on --infer_backend transformers, not llama_cpp/,
    );
  });

  test('a folder without an ONNX export fails the deploy naming the missing files', async () => {
    const empty = path.join(home.home, 'models', 'empty');
    await fs.mkdir(empty, { recursive: true });
    const result = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/bge',
      '--infer_backend',
      'transformers',
      '--model_path',
      empty,
      '--model',
      'broken',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(
      stderrWithoutBanner(result.stderr).join('\n'),
      /lacks config\.json, tokenizer\.json, onnx\/model\.onnx/,
    );
  });

  test('deploy custom/auto with --infer_backend vllm, query it, and undeploy stops its server', async () => {
    const record = path.join(home.home, 'vllm-record.json');
    const deploy = await home.run([
      'deploy',
      '--pretrained_model_type',
      'custom/auto',
      '--infer_backend',
      'vllm',
      '--model_path',
      '/models/Qwen2-0.5B-Instruct',
      '--infer_params',
      `backend.command="${process.execPath} ${STAND_IN}"`,
      'backend.max_model_len=1024',
      // Passed through as --stand-in-record, like any other backend.* key.
      `backend.stand_in_record=${record}`,
      '--model',
      'qwen',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const { pid, argv } = JSON.parse(await fs.readFile(record, 'utf8')) as { pid: number; argv: string[] };
    assert.equal(argv[argv.indexOf('--model') + 1], '/models/Qwen2-0.5B-Instruct');
    const query = await home.run(['query', '--model', 'qwen', '--query', 'hello']);
    assert.equal(query.code, 0, query.stderr);
    assert.equal(query.stdout, 'echo: hello\n');
    const meta = await client.meta('qwen');
    assert.equal(meta.backend, 'vllm');
    assert.equal(meta.max_model_len, 1024);
    assert.ok(alive(pid));
    const undeploy = await home.run(['undeploy', '--model', 'qwen']);
    assert.equal(undeploy.code, 0, undeploy.stderr);
    assert.equal(alive(pid), false, 'undeploy stopped the vLLM server');
  });
});
