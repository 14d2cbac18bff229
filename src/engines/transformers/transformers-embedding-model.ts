/**
 * `EmbeddingModelV1` for `custom/bge`: a feature-extraction pipeline over a local ONNX model,
 * pooled (`cls` by default, as BGE is trained) and normalised to unit length.
 */
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted, UnsupportedError } from '../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';
import type { TransformersLibrary } from './load-library.js';
import { localLoadOptions, type TransformersParams } from './transformers-params.js';

type FeatureExtractor = Awaited<ReturnType<TransformersLibrary['pipeline']>> & {
  (
    texts: string[],
    options: { pooling: 'cls' | 'mean'; normalize: boolean },
  ): Promise<{
    dims: number[];
    tolist(): number[][];
  }>;
  tokenizer: (
    texts: string[],
    options: { padding: boolean; truncation: boolean },
  ) => {
    attention_mask: { tolist(): (number | bigint)[][] };
  };
};

export class TransformersEmbeddingModel implements EmbeddingModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'transformers';
  /** Set by `probe()`: the length of every vector this model returns. */
  dimension = 0;

  constructor(
    readonly modelId: string,
    private readonly extractor: FeatureExtractor,
    private readonly params: Pick<TransformersParams, 'pooling' | 'normalize'>,
  ) {}

  static async load(
    library: TransformersLibrary,
    modelId: string,
    folder: string,
    params: TransformersParams,
  ): Promise<TransformersEmbeddingModel> {
    const extractor = (await library.pipeline(
      'feature-extraction',
      folder,
      localLoadOptions(params),
    )) as unknown as FeatureExtractor;
    const model = new TransformersEmbeddingModel(modelId, extractor, params);
    // One embedding at load: proves the model runs and gives the true dimension for the meta.
    const [first] = (await model.doEmbed({ values: ['byzerllm'] })).embeddings;
    model.dimension = first?.length ?? 0;
    return model;
  }

  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    throwIfAborted(options.signal);
    if (request.values.length === 0) return { embeddings: [], usage: { inputTokens: 0 } };
    if (request.dimensions !== undefined && this.dimension !== 0 && request.dimensions !== this.dimension) {
      // Cutting a BGE vector short is not a valid embedding; a silent cut would corrupt an index.
      throw new UnsupportedError(
        `${this.modelId} returns ${this.dimension}-dimensional embeddings; dimensions=${request.dimensions} is not supported`,
      );
    }
    const output = await this.extractor(request.values, {
      pooling: this.params.pooling,
      normalize: this.params.normalize,
    });
    throwIfAborted(options.signal);
    const tokens = this.extractor.tokenizer(request.values, { padding: true, truncation: true });
    let inputTokens = 0;
    for (const row of tokens.attention_mask.tolist()) for (const cell of row) inputTokens += Number(cell);
    return { embeddings: output.tolist(), usage: { inputTokens } };
  }

  dispose(): Promise<void> {
    return this.extractor.dispose();
  }
}
