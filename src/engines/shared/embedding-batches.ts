/**
 * Vendors that cap how many texts one embedding request may carry: the values are sent in batches
 * of at most `batchSize`, one request after another (a failure stops the rest), and the result
 * keeps the order of `values` with the input tokens of all batches summed.
 */
import type { EmbeddingResult } from '../../core/models.js';

export interface EmbeddingBatch {
  /** One embedding per text of the batch, in the batch's order. */
  embeddings: number[][];
  inputTokens: number;
}

export async function embedInBatches(
  values: readonly string[],
  batchSize: number,
  embedBatch: (texts: string[]) => Promise<EmbeddingBatch>,
): Promise<EmbeddingResult> {
  const embeddings: number[][] = [];
  let inputTokens = 0;
  for (let start = 0; start < values.length; start += batchSize) {
    const batch = await embedBatch(values.slice(start, start + batchSize));
    embeddings.push(...batch.embeddings);
    inputTokens += batch.inputTokens;
  }
  return { embeddings, usage: { inputTokens } };
}
