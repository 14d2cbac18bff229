/** `emb` and `embRerank` with Byzer-LLM's result shapes. */
import { InvalidArgumentError } from '../core/index.js';
import type { ClientSession } from './client-session.js';

export interface EmbeddingResponse {
  output: number[];
  /** Byzer-LLM's name; `meta` is the same object. */
  metadata: { input_tokens_count: number };
  meta: { input_tokens_count: number };
}

/** A scored pair; the first of a result also has Byzer-LLM's `output` (see `rerank`). */
export type ScoredPair = [RerankPair, number] & { output?: [RerankPair, number] | [RerankPair, number][] };

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
  return result.embeddings.map((output, index) => {
    // Usage is per call; Byzer-LLM put it on the response, so the first one carries it.
    const meta = { input_tokens_count: index === 0 ? result.usage.inputTokens : 0 };
    return { output, metadata: meta, meta };
  });
}

/**
 * Scores `[query, passage]` pairs, sorted by score (best first). Pairs sharing a query are sent in
 * one rerank call. A single pair gives a one-element list. Byzer-LLM's callers read
 * `result[0].output`: the scored pair for a single pair, the sorted list for several; the first
 * element carries it (not enumerable, so the tuples stay plain in JSON and comparisons).
 */
export async function rerank(
  llm: ClientSession,
  model: string,
  sentencePairs: RerankPair | RerankPair[],
): Promise<ScoredPair[]> {
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
  scored.sort((left, right) => right[1] - left[1]);
  const first = scored[0];
  if (first) {
    const output = isPair(sentencePairs) ? [...first] : scored.map((item) => [...item]);
    Object.defineProperty(first, 'output', { value: output, enumerable: false });
  }
  return scored;
}

function isPair(value: RerankPair | RerankPair[]): value is RerankPair {
  return typeof value[0] === 'string';
}
