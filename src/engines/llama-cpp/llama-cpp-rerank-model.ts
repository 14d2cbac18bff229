/**
 * Reranking with a GGUF reranker (a model with a classification head, e.g. bge-reranker or
 * Qwen3-Reranker converted by llama.cpp). Offered only when node-llama-cpp reports
 * `fileInsights.supportsRanking`; other models leave `rerank` out of their tasks.
 */
import type { LlamaModel, LlamaRankingContext } from 'node-llama-cpp';
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted } from '../../core/errors.js';
import type { RerankModelV1, RerankRequest, RerankResult } from '../../core/models.js';

export class LlamaCppRerankModel implements RerankModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';
  private context: Promise<LlamaRankingContext> | undefined;

  constructor(
    readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly threads: number,
  ) {}

  async doRerank(request: RerankRequest, options: CallOptions = {}): Promise<RerankResult> {
    throwIfAborted(options.signal);
    this.context ??= this.model.createRankingContext({ threads: this.threads });
    const scores = await (await this.context).rankAll(request.query, request.documents);
    const results = scores
      .map((score, index) => ({ index, score }))
      .sort((left, right) => right.score - left.score);
    return { results: request.topN === undefined ? results : results.slice(0, request.topN) };
  }

  async dispose(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    if (context) await (await context).dispose();
  }
}
