/**
 * `EmbeddingModelV1` over DashScope TextEmbedding (`text-embedding-v1/v2/v3`):
 * `POST {base}/api/v1/services/embeddings/text-embedding/text-embedding` with
 * `{model, input: {texts}, parameters: {text_type}}` → `output.embeddings[{text_index, embedding}]`.
 * DashScope takes at most 25 texts per call, so longer lists go in batches, in order.
 * `extra.text_type` picks `query` or `document` (default `document`); `dimensions` is sent for v3.
 */
import type { CallOptions } from '../../core/chat-model.js';
import { UpstreamError } from '../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';
import { parseWireBody } from '../shared/wire-body.js';
import type { QianwenModelConfig } from './qianwen-chat-model.js';
import { embeddingResponseSchema } from './wire-schemas.js';
import { mergeExtra } from '../shared/extra-fields.js';
import { ProviderModel } from '../shared/provider-model.js';
import { embedInBatches } from '../shared/embedding-batches.js';

export const EMBEDDING_PATH = '/api/v1/services/embeddings/text-embedding/text-embedding';
const BATCH_SIZE = 25;

export class QianwenEmbeddingModel extends ProviderModel<QianwenModelConfig> implements EmbeddingModelV1 {
  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    return embedInBatches(request.values, BATCH_SIZE, async (texts) => {
      const parameters: Record<string, unknown> = { text_type: 'document' };
      if (request.dimensions !== undefined) parameters.dimension = request.dimensions;
      mergeExtra(parameters, request.extra);
      const response = await this.config.client.postJson(
        EMBEDDING_PATH,
        { model: this.modelId, input: { texts }, parameters },
        options,
      );
      const parsed = parseWireBody(embeddingResponseSchema, response.body, {
        provider: this.provider,
        what: 'embedding response',
      });
      if (parsed.output.embeddings.length !== texts.length) {
        throw new UpstreamError(
          'upstream_error',
          `${this.provider} returned ${parsed.output.embeddings.length} embeddings for ${texts.length} texts`,
          { details: { provider: this.provider } },
        );
      }
      const ordered = [...parsed.output.embeddings].sort((left, right) => left.text_index - right.text_index);
      return {
        embeddings: ordered.map((item) => item.embedding),
        inputTokens: parsed.usage?.total_tokens ?? 0,
      };
    });
  }
}
