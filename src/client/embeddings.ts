/** `emb` and `embRerank` with Byzer-LLM's result shapes. */
import { InvalidArgumentError } from '../core/index.js';
import type { ClientSession } from './client-session.js';

export interface EmbeddingResponse {
  output: number[];
  meta: { input_tokens_count: number };
}

export type RerankPair = [query: string, passage: string];

export async function embed(
  llm: ClientSession,
  model: string,
  texts: string | string[],
  signal?: AbortSignal,
): Promise<EmbeddingResponse[]> {
  const values = typeof texts === 'string' ? [texts] : [...texts];
  if (values.length === 0) throw new InvalidArgumentError('emb needs at least one text');
  const cluster = await llm.cluster();
  const result = await cluster.call(model, 'embedding', { values }, signal ? { signal } : {});
  return result.embeddings.map((output, index) => ({
    output,
    // Usage is per call; Byzer-LLM put it on the response, so the first one carries it.
    meta: { input_tokens_count: index === 0 ? result.usage.inputTokens : 0 },
  }));
}

/**
 * Scores `[query, passage]` pairs, sorted by score (best first). Pairs sharing a query are sent in
 * one rerank call. A single pair gives a one-element list.
 */
export async function rerank(
  llm: ClientSession,
  model: string,
  sentencePairs: RerankPair | RerankPair[],
): Promise<[RerankPair, number][]> {
  const pairs: RerankPair[] = isPair(sentencePairs) ? [sentencePairs] : sentencePairs;
  if (pairs.length === 0)
    throw new InvalidArgumentError('embRerank needs at least one [query, passage] pair');
  const cluster = await llm.cluster();
  const byQuery = new Map<string, RerankPair[]>();
  for (const pair of pairs) byQuery.set(pair[0], [...(byQuery.get(pair[0]) ?? []), pair]);
  const scored: [RerankPair, number][] = [];
  for (const [query, group] of byQuery) {
    const result = await cluster.call(model, 'rerank', { query, documents: group.map((pair) => pair[1]) });
    for (const { index, score } of result.results) scored.push([group[index]!, score]);
  }
  return scored.sort((left, right) => right[1] - left[1]);
}

function isPair(value: RerankPair | RerankPair[]): value is RerankPair {
  return typeof value[0] === 'string';
}
