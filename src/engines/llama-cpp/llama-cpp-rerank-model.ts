/**
 * Reranking with a GGUF reranker (a model with a classification head, e.g. bge-reranker or
 * Qwen3-Reranker converted by llama.cpp). Offered only when node-llama-cpp reports
 * `fileInsights.supportsRanking`; other models leave `rerank` out of their tasks.
 */
import type { LlamaModel } from 'node-llama-cpp';
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted } from '../../core/errors.js';
import type { RerankModelV1, RerankRequest, RerankResult } from '../../core/models.js';
import { LazyContext } from './lazy-context.js';

export class LlamaCppRerankModel implements RerankModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';
  private readonly context = new LazyContext(() =>
    this.model.createRankingContext({ threads: this.threads }),
  );

  constructor(
    readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly threads: number,
  ) {}

  async doRerank(request: RerankRequest, options: CallOptions = {}): Promise<RerankResult> {
    throwIfAborted(options.signal);
    const scores = await (await this.context.get()).rankAll(request.query, request.documents);
    const results = scores
      .map((score, index) => ({ index, score }))
      .sort((left, right) => right.score - left.score);
    return { results: request.topN === undefined ? results : results.slice(0, request.topN) };
  }

  dispose(): Promise<void> {
    return this.context.dispose();
  }
}
