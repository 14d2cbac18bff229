/**
 * Shared by the storage tests and bench/storage: a seeded 10,000-document collection with known
 * answers, and the tiny ONNX BERT embedding model deployed as `emb` on the transformers engine.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SimpleByzerLLM } from '../../src/client/index.js';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';

export const TOPICS = ['physics', 'biology', 'history', 'music', 'sports'] as const;
const ENGLISH = [
  'alpha',
  'bravo',
  'river',
  'stone',
  'cloud',
  'green',
  'quick',
  'light',
  'metal',
  'paper',
  'glass',
  'north',
];
const CHINESE = [
  '苹果',
  '香蕉',
  '天气',
  '电脑',
  '音乐',
  '朋友',
  '城市',
  '火车',
  '咖啡',
  '图书馆',
  '老师',
  '学生',
];

/** Documents with a unique word or phrase: what full-text queries must find first. */
export const KNOWN = {
  zebrafish: { id: 'doc-42', text: 'the zebrafish swims in the lab tank' },
  capital: { id: 'doc-4242', text: '北京是中国的首都' },
  learning: { id: 'doc-7007', text: '深度神经网络的机器翻译研究' },
} as const;

export type SeededDocument = {
  _id: string;
  topic: string;
  rank: number;
  score: number;
  published: boolean;
  content: string;
  raw: string;
  vector: string;
};

/** A small seeded generator (mulberry32), so every run writes the same collection. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function seededDocuments(count: number, seed = 20261130): SeededDocument[] {
  const random = seededRandom(seed);
  const pick = <Item>(items: readonly Item[]) => items[Math.floor(random() * items.length)]!;
  const specials = new Map<string, string>(Object.values(KNOWN).map((known) => [known.id, known.text]));
  const documents: SeededDocument[] = [];
  for (let index = 0; index < count; index++) {
    const id = `doc-${index}`;
    const words = Array.from({ length: 6 }, () => pick(ENGLISH));
    const chinese = Array.from({ length: 3 }, () => pick(CHINESE)).join('');
    const content = specials.get(id) ?? `${words.join(' ')} item${index} ${chinese}`;
    documents.push({
      _id: id,
      topic: TOPICS[index % TOPICS.length]!,
      rank: (index * 7919) % 10_007,
      score: Math.round(random() * 1000) / 10,
      published: index % 3 === 0,
      content,
      raw: content,
      vector: content,
    });
  }
  return documents;
}

export const DOCUMENT_SCHEMA =
  'st(field(_id,string),field(topic,string),field(rank,long,sort),field(score,double,sort),field(published,boolean),' +
  'field(content,string,analyze),field(raw,string,no_index),field(vector,array(float)))';

export interface EmbeddingFixture {
  root: string;
  llm: SimpleByzerLLM;
  close(): Promise<void>;
}

/** A temp folder with the tiny BERT deployed as `emb` in an in-process cluster. */
export async function startEmbeddingFixture(prefix: string): Promise<EmbeddingFixture> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const modelFolder = path.join(root, 'tiny-bge');
  await writeTinyBertModel(modelFolder, { task: 'embedding' });
  const llm = new SimpleByzerLLM();
  llm.setupInferBackend('transformers');
  await llm.deploy({ udfName: 'emb', pretrainedModelType: 'custom/bge', modelPath: modelFolder });
  return {
    root,
    llm,
    async close() {
      await llm.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
