/**
 * The transformers engine on the project's own tiny ONNX models (no model can be downloaded here):
 * bge embeddings, bge_rerank reranking, and the checks that guard custom/whisper's model folder.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import { ByzerLLMError } from '../../../src/core/errors.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { writeTinyBertModel } from '../../support/tiny-onnx/write-tiny-bert.js';
import { createTransformersEngine } from '../../../src/engines/transformers/transformers-provider.js';

function failsWith(code: string, ...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

function engine(pretrainedModelType: string, modelPath: string, inferParams: Record<string, string> = {}) {
  const warnings: string[] = [];
  const spec = deploymentSpecSchema.parse({
    name: 'local-ml',
    pretrainedModelType,
    inferBackend: 'transformers',
    modelPath,
    inferParams,
  });
  const loading = createTransformersEngine({
    spec,
    workerIndex: 0,
    gpuIndices: [],
    warn: (message) => warnings.push(message),
  });
  return { loading, warnings };
}

const norm = (vector: number[]) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

describe('transformers engine', () => {
  let root: string;
  let embeddingFolder: string;
  let rerankFolder: string;
  let bge: EngineInstance;
  let reranker: EngineInstance;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-transformers-'));
    embeddingFolder = path.join(root, 'tiny-bge');
    rerankFolder = path.join(root, 'tiny-bge-reranker');
    await writeTinyBertModel(embeddingFolder, { task: 'embedding' });
    await writeTinyBertModel(rerankFolder, { task: 'rerank' });
    bge = await engine('custom/bge', embeddingFolder).loading;
    reranker = await engine('custom/bge_rerank', rerankFolder).loading;
  });
  after(async () => {
    await bge?.dispose();
    await reranker?.dispose();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('the tiny model writer is deterministic', async () => {
    const again = path.join(root, 'again');
    await writeTinyBertModel(again, { task: 'embedding' });
    for (const file of ['onnx/model.onnx', 'tokenizer.json', 'config.json']) {
      const first = await fs.readFile(path.join(embeddingFolder, file));
      const second = await fs.readFile(path.join(again, file));
      assert.ok(first.equals(second), `${file} is byte-identical`);
    }
  });

  test('bge meta describes a local embedding model', () => {
    assert.equal(bge.meta.model_deploy_type, 'proprietary');
    assert.equal(bge.meta.backend, 'transformers');
    assert.equal(bge.meta.model_name, 'tiny-bge');
    assert.equal(bge.meta.embedding_dimension, 32);
    assert.equal(bge.meta.max_model_len, 128);
    assert.deepEqual(bge.meta.architectures, ['BertModel']);
    assert.deepEqual(bge.meta.tasks, ['embedding']);
    assert.equal(bge.meta.embedding_mode, true);
    assert.equal(bge.meta.support_stream, false);
    assert.equal(bge.embedding?.modelId, 'tiny-bge');
    assert.equal(bge.chat, undefined);
  });

  test('bge embeddings: same text identical, different texts differ, unit length, meta dimension', async () => {
    const texts = ['hello world', 'the cat sat on the mat', 'hello world', '向量检索'];
    const result = await bge.embedding!.doEmbed({ values: texts });
    assert.equal(result.embeddings.length, 4);
    for (const vector of result.embeddings) {
      assert.equal(vector.length, bge.meta.embedding_dimension);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `norm ${norm(vector)}`);
    }
    assert.deepEqual(result.embeddings[0], result.embeddings[2]);
    assert.notDeepEqual(result.embeddings[0], result.embeddings[1]);
    assert.notDeepEqual(result.embeddings[1], result.embeddings[3]);
    // [CLS] hello world [SEP] + [CLS] the cat sat on the mat [SEP] + … : tokens actually counted.
    assert.equal(result.usage.inputTokens, 4 + 8 + 4 + 6);
    const alone = await bge.embedding!.doEmbed({ values: ['the cat sat on the mat'] });
    const [single] = alone.embeddings;
    assert.ok(single);
    single.forEach((value, index) => {
      assert.ok(Math.abs(value - result.embeddings[1]![index]!) < 1e-5);
    });
  });

  test('bge refuses a dimensions value it cannot produce', async () => {
    await assert.rejects(
      bge.embedding!.doEmbed({ values: ['x'], dimensions: 8 }),
      failsWith('unsupported', '32-dimensional', 'dimensions=8'),
    );
  });

  test('mean pooling without normalisation is a different, non-unit vector', async () => {
    const { loading } = engine('custom/bge', embeddingFolder, {
      'backend.pooling': 'mean',
      'backend.normalize': 'false',
    });
    const meanEngine = await loading;
    try {
      const [mean] = (await meanEngine.embedding!.doEmbed({ values: ['hello world'] })).embeddings;
      const [cls] = (await bge.embedding!.doEmbed({ values: ['hello world'] })).embeddings;
      assert.ok(mean && cls);
      assert.notDeepEqual(mean, cls);
      assert.ok(Math.abs(norm(mean) - 1) > 1e-3, `norm ${norm(mean)}`);
    } finally {
      await meanEngine.dispose();
    }
  });

  test('bge_rerank scores every document, sorted best first, and honours topN', async () => {
    assert.deepEqual(reranker.meta.tasks, ['rerank']);
    assert.deepEqual(reranker.meta.architectures, ['BertForSequenceClassification']);
    const documents = ['cats are animals', 'the weather is sunny', 'spark sql', 'hello world', 'a dog'];
    const request = { query: 'what is a cat', documents };
    const { results } = await reranker.rerank!.doRerank(request);
    assert.deepEqual(results.map((result) => result.index).sort(), [0, 1, 2, 3, 4]);
    for (let position = 1; position < results.length; position++) {
      assert.ok(results[position - 1]!.score >= results[position]!.score);
    }
    assert.ok(new Set(results.map((result) => result.score)).size > 1, 'pairs get different scores');
    const again = await reranker.rerank!.doRerank(request);
    assert.deepEqual(again.results, results);
    const top = await reranker.rerank!.doRerank({ ...request, topN: 2 });
    assert.deepEqual(top.results, results.slice(0, 2));
  });

  test('bge_rerank gives a pair the same score whatever batch it is in', async () => {
    const { loading } = engine('custom/bge_rerank', rerankFolder, { 'backend.batch_size': '2' });
    const small = await loading;
    try {
      const request = { query: 'cat', documents: ['cats are animals', 'rain', 'the mat', 'python'] };
      const batched = await small.rerank!.doRerank(request);
      const whole = await reranker.rerank!.doRerank(request);
      assert.deepEqual(
        batched.results.map((result) => result.index),
        whole.results.map((result) => result.index),
      );
      batched.results.forEach((result, position) => {
        assert.ok(Math.abs(result.score - whole.results[position]!.score) < 1e-5);
      });
    } finally {
      await small.dispose();
    }
  });

  test('parameters: a bad dtype is refused with the allowed list; unknown keys are warnings', async () => {
    await assert.rejects(
      engine('custom/bge', embeddingFolder, { 'backend.dtype': 'fp64' }).loading,
      failsWith('invalid_argument', '"fp64"', 'fp32, fp16, q8'),
    );
    const { loading, warnings } = engine('custom/bge', embeddingFolder, { 'backend.colour': 'blue' });
    await (await loading).dispose();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /backend\.colour ignored by the transformers engine/);
  });

  test('a dtype whose weights the folder lacks names the missing file', async () => {
    await assert.rejects(
      engine('custom/bge', embeddingFolder, { 'backend.dtype': 'q8' }).loading,
      failsWith('invalid_argument', 'onnx/model_quantized.onnx', 'backend.dtype=q8'),
    );
  });

  test('a missing or empty model path is a clear error', async () => {
    await assert.rejects(
      engine('custom/bge', '').loading,
      failsWith('invalid_argument', 'needs --model_path'),
    );
    await assert.rejects(
      engine('custom/bge', path.join(root, 'nowhere')).loading,
      failsWith('invalid_argument', 'nowhere', 'is not a folder'),
    );
  });

  test('custom/whisper lists the files a Whisper export needs', async () => {
    await assert.rejects(
      engine('custom/whisper', embeddingFolder).loading,
      failsWith(
        'invalid_argument',
        'onnx/encoder_model.onnx',
        'onnx/decoder_model_merged.onnx',
        'preprocessor_config.json',
      ),
    );
  });

  test('custom/whisper refuses a folder that holds another kind of model', async () => {
    const folder = path.join(root, 'not-whisper');
    await writeTinyBertModel(folder, { task: 'embedding' });
    for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']) {
      await fs.copyFile(path.join(folder, 'onnx/model.onnx'), path.join(folder, file));
    }
    await fs.writeFile(path.join(folder, 'preprocessor_config.json'), '{}');
    await fs.writeFile(path.join(folder, 'generation_config.json'), '{}');
    await assert.rejects(
      engine('custom/whisper', folder).loading,
      failsWith('invalid_argument', 'model_type "whisper"', 'has model_type "bert"'),
    );
  });

  test('the transformers backend names the model types it serves', async () => {
    await assert.rejects(
      engine('custom/qwen_audio', embeddingFolder).loading,
      failsWith(
        'invalid_argument',
        'custom/auto, custom/bge, custom/m3e, custom/bge_rerank, custom/whisper',
        '"custom/qwen_audio"',
      ),
    );
  });

  test('custom/auto on a folder without a chat template fails naming tokenizer_config.json', async () => {
    await assert.rejects(
      engine('custom/auto', embeddingFolder).loading,
      failsWith('invalid_argument', 'tokenizer_config.json has no chat_template'),
    );
  });

  test('custom/m3e embeds as M3E does: mean pooling, not normalised (bge with those settings)', async () => {
    const m3e = await engine('custom/m3e', embeddingFolder).loading;
    const { loading } = engine('custom/bge', embeddingFolder, {
      'backend.pooling': 'mean',
      'backend.normalize': 'false',
    });
    const meanBge = await loading;
    try {
      assert.deepEqual(m3e.meta.tasks, ['embedding']);
      const [fromM3e] = (await m3e.embedding!.doEmbed({ values: ['你好 world'] })).embeddings;
      const [fromBge] = (await meanBge.embedding!.doEmbed({ values: ['你好 world'] })).embeddings;
      assert.deepEqual(fromM3e, fromBge);
    } finally {
      await m3e.dispose();
      await meanBge.dispose();
    }
  });
});
