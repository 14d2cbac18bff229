/**
 * `EmbeddingModelV1` over Gemini's `POST models/{model}:batchEmbedContents` (one request for all
 * values; each entry names its model, as the API requires). `dimensions` → `outputDimensionality`;
 * `extra.taskType` (e.g. `RETRIEVAL_QUERY`) passes through per entry. Gemini reports no token usage
 * for embeddings, so `inputTokens` is 0.
 */
import type { CallOptions } from '../../core/chat-model.js';
import { UpstreamError } from '../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';
import { callModelMethod, type GeminiModelConfig } from './gemini-chat-model.js';
import { batchEmbedResponseSchema } from './wire-schemas.js';
import { ProviderModel } from '../shared/provider-model.js';

export class GeminiEmbeddingModel extends ProviderModel<GeminiModelConfig> implements EmbeddingModelV1 {
  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    const body = {
      requests: request.values.map((value) => ({
        model: `models/${this.modelId}`,
        content: { parts: [{ text: value }] },
        ...(request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }),
        ...(request.extra ?? {}),
      })),
    };
    const parsed = await callModelMethod(
      this.config,
      'batchEmbedContents',
      body,
      options,
      batchEmbedResponseSchema,
    );
    if (parsed.embeddings.length !== request.values.length) {
      throw new UpstreamError(
        'upstream_error',
        `${this.provider} returned ${parsed.embeddings.length} embeddings for ${request.values.length} inputs`,
        { details: { provider: this.provider } },
      );
    }
    return { embeddings: parsed.embeddings.map((embedding) => embedding.values), usage: { inputTokens: 0 } };
  }
}
