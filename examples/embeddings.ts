/** Seed 004 "向量化模型": embeddings through the default embedding model. */
import type { ByzerLLM } from '../src/index.js';

export async function main(llm: ByzerLLM, embeddingModel: string) {
  llm.setupDefaultEmbModelName(embeddingModel);
  const vector = await llm.embQuery('你好');
  const many = await llm.emb(undefined, ['你好', '世界']);
  return { vector, many: many.map((item) => item.output) };
}
