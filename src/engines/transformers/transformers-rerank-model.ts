/**
 * `RerankModelV1` for `custom/bge_rerank`: a cross-encoder (`…ForSequenceClassification` with one
 * label) scores each (query, document) pair; results are sorted best first. Scores are the raw
 * logits, as BGE rerankers return them (`FlagReranker.compute_score` without normalisation).
 */
import type { CallOptions } from '../../core/chat-model.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { RerankModelV1, RerankRequest, RerankResult } from '../../core/models.js';
import type { TransformersLibrary } from './load-library.js';
import { localLoadOptions, type TransformersParams } from './transformers-params.js';

type Tokenizer = Awaited<ReturnType<TransformersLibrary['AutoTokenizer']['from_pretrained']>>;
type Classifier = Awaited<
  ReturnType<TransformersLibrary['AutoModelForSequenceClassification']['from_pretrained']>
>;

export class TransformersRerankModel implements RerankModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'transformers';

  constructor(
    readonly modelId: string,
    private readonly tokenizer: Tokenizer,
    private readonly classifier: Classifier,
    private readonly batchSize: number,
  ) {}

  static async load(
    library: TransformersLibrary,
    modelId: string,
    folder: string,
    params: TransformersParams,
  ): Promise<TransformersRerankModel> {
    const tokenizer = await library.AutoTokenizer.from_pretrained(folder, { local_files_only: true });
    const classifier = await library.AutoModelForSequenceClassification.from_pretrained(
      folder,
      localLoadOptions(params),
    );
    return new TransformersRerankModel(modelId, tokenizer, classifier, params.batchSize);
  }

  async doRerank(request: RerankRequest, options: CallOptions = {}): Promise<RerankResult> {
    throwIfAborted(options.signal);
    if (request.topN !== undefined && (!Number.isInteger(request.topN) || request.topN < 0)) {
      throw new InvalidArgumentError(`topN must be a whole number >= 0, got ${request.topN}`);
    }
    const scores: number[] = [];
    for (let start = 0; start < request.documents.length; start += this.batchSize) {
      const documents = request.documents.slice(start, start + this.batchSize);
      const inputs = this.tokenizer(
        documents.map(() => request.query),
        { text_pair: documents, padding: true, truncation: true },
      );
      const { logits } = (await this.classifier(inputs)) as { logits: { tolist(): number[][] } };
      // One label: its logit is the relevance. Several labels: the last is "relevant".
      for (const row of logits.tolist()) scores.push(row[row.length - 1] ?? 0);
      throwIfAborted(options.signal);
    }
    const results = scores
      .map((score, index) => ({ index, score }))
      .sort((left, right) => right.score - left.score || left.index - right.index);
    return { results: request.topN === undefined ? results : results.slice(0, request.topN) };
  }

  async dispose(): Promise<void> {
    await this.classifier.dispose();
  }
}
