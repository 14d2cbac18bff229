/**
 * Embeddings from a local GGUF model (node-llama-cpp embedding context).
 *
 * The embedding context is created on first use, so a chat-only deployment never pays for it. It
 * evaluates one text at a time; texts of one request are embedded in order.
 */
import type { LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted } from '../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';

export class LlamaCppEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';
  private context: Promise<LlamaEmbeddingContext> | undefined;

  constructor(
    readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly threads: number,
  ) {}

  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    throwIfAborted(options.signal);
    this.context ??= this.model.createEmbeddingContext({ threads: this.threads });
    const context = await this.context;
    const embeddings: number[][] = [];
    let inputTokens = 0;
    for (const value of request.values) {
      throwIfAborted(options.signal);
      inputTokens += this.model.tokenize(value).length;
      const embedding = await context.getEmbeddingFor(value);
      embeddings.push([...embedding.vector]);
    }
    return { embeddings, usage: { inputTokens } };
  }

  async dispose(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    if (context) await (await context).dispose();
  }
}
