/**
 * Embeddings from a local GGUF model (node-llama-cpp embedding context).
 *
 * The embedding context is created on first use, so a chat-only deployment never pays for it. It
 * evaluates one text at a time; texts of one request are embedded in order. `dimensions` is honoured
 * or refused, never ignored: the model's own size passes, a smaller one is the first N values
 * renormalised when the deployment says the model is Matryoshka-trained (`matryoshka=true`), and
 * anything else is a 400 naming `dimensions`.
 */
import type { LlamaModel } from 'node-llama-cpp';
import type { CallOptions } from '../../core/chat-model.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';
import { LazyContext } from './lazy-context.js';

export class LlamaCppEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'llama_cpp';
  private readonly context = new LazyContext(() =>
    this.model.createEmbeddingContext({ threads: this.params.threads }),
  );

  constructor(
    readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly params: { threads: number; matryoshka: boolean },
  ) {}

  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    throwIfAborted(options.signal);
    const context = await this.context.get();
    const embeddings: number[][] = [];
    let inputTokens = 0;
    for (const value of request.values) {
      throwIfAborted(options.signal);
      inputTokens += this.model.tokenize(value).length;
      const embedding = await context.getEmbeddingFor(value);
      embeddings.push(this.shorten([...embedding.vector], request.dimensions));
    }
    return { embeddings, usage: { inputTokens } };
  }

  private shorten(vector: number[], dimensions: number | undefined): number[] {
    if (dimensions === undefined || dimensions === vector.length) return vector;
    if (!this.params.matryoshka || dimensions > vector.length) {
      const why = this.params.matryoshka
        ? `at most ${vector.length}`
        : `${vector.length} (deploy with matryoshka=true for a model trained to be cut short)`;
      throw new InvalidArgumentError(
        `dimensions=${dimensions} is not supported by ${this.modelId}: use ${why}`,
        {
          details: { param: 'dimensions' },
        },
      );
    }
    const cut = vector.slice(0, dimensions);
    const norm = Math.hypot(...cut);
    return norm === 0 ? cut : cut.map((value) => value / norm);
  }

  dispose(): Promise<void> {
    return this.context.dispose();
  }
}
