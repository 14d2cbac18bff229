/**
 * Writes a tiny BERT-style model folder that `@huggingface/transformers` loads offline, laid out
 * like a Hugging Face export: `config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `onnx/model.onnx`. Tests use it because no model can be downloaded here (test-only: not shipped).
 *
 * `task: 'embedding'` is a `BertModel` (deploy as `custom/bge`); `task: 'rerank'` is a
 * `BertForSequenceClassification` cross-encoder with one label (deploy as `custom/bge_rerank`).
 * The same options write the same bytes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildTinyBertOnnx } from './tiny-bert-graph.js';
import { tinyVocabulary, tokenizerConfigJson, tokenizerJson } from './tiny-bert-tokenizer.js';

export interface TinyBertOptions {
  task: 'embedding' | 'rerank';
  /** Embedding dimension. Defaults to 32. */
  hiddenSize?: number;
  /** Longest input in tokens, [CLS] and [SEP] included. Defaults to 128. */
  maxPositions?: number;
  /** Weight seed. Defaults to 7 (embedding) or 11 (rerank). */
  seed?: number;
}

export interface TinyBertModel {
  folder: string;
  task: TinyBertOptions['task'];
  hiddenSize: number;
  vocabularySize: number;
  maxPositions: number;
}

export async function writeTinyBertModel(folder: string, options: TinyBertOptions): Promise<TinyBertModel> {
  const hiddenSize = options.hiddenSize ?? 32;
  const maxPositions = options.maxPositions ?? 128;
  const vocabulary = tinyVocabulary();
  const onnx = buildTinyBertOnnx({
    task: options.task,
    vocabSize: vocabulary.length,
    hiddenSize,
    maxPositions,
    seed: options.seed ?? (options.task === 'embedding' ? 7 : 11),
  });
  const config: Record<string, unknown> = {
    architectures: [options.task === 'embedding' ? 'BertModel' : 'BertForSequenceClassification'],
    model_type: 'bert',
    vocab_size: vocabulary.length,
    hidden_size: hiddenSize,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: hiddenSize,
    max_position_embeddings: maxPositions,
    type_vocab_size: 2,
    pad_token_id: 0,
    layer_norm_eps: 1e-5,
  };
  if (options.task === 'rerank') {
    config.id2label = { 0: 'LABEL_0' };
    config.label2id = { LABEL_0: 0 };
  }
  await fs.mkdir(path.join(folder, 'onnx'), { recursive: true });
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await Promise.all([
    fs.writeFile(path.join(folder, 'config.json'), json(config)),
    fs.writeFile(path.join(folder, 'tokenizer.json'), json(tokenizerJson(vocabulary, maxPositions))),
    fs.writeFile(path.join(folder, 'tokenizer_config.json'), json(tokenizerConfigJson(maxPositions))),
    fs.writeFile(path.join(folder, 'onnx', 'model.onnx'), onnx),
  ]);
  return { folder, task: options.task, hiddenSize, vocabularySize: vocabulary.length, maxPositions };
}
