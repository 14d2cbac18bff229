/**
 * `EmbeddingModelV1` over Qianfan embeddings:
 * `POST {base}/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/{endpoint}?access_token=…` with
 * `{input: [texts]}` (at most 16 per call, so longer lists go in batches) → `data[{index, embedding}]`.
 */
import type { CallOptions } from '../../core/chat-model.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../core/models.js';
import { parseWireBody } from '../shared/wire-body.js';
import { postJsonChecked, type QianfanModelConfig, withFreshToken } from './qianfan-chat-model.js';
import { embeddingResponseSchema } from './wire-schemas.js';
import { ProviderModel } from '../shared/provider-model.js';
import { embedInBatches } from '../shared/embedding-batches.js';

const BATCH_SIZE = 16;

export class QianfanEmbeddingModel extends ProviderModel<QianfanModelConfig> implements EmbeddingModelV1 {
  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    return embedInBatches(request.values, BATCH_SIZE, async (input) => {
      const body = await withFreshToken(this.config, options, (token, attempt) => {
        const path = `/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/${this.config.endpoint}?access_token=${encodeURIComponent(token)}`;
        return postJsonChecked(this.config, path, { input }, attempt);
      });
      const parsed = parseWireBody(embeddingResponseSchema, body, {
        provider: this.provider,
        what: 'embedding response',
      });
      const ordered = parsed.data
        .map((item, position) => ({ index: item.index ?? position, embedding: item.embedding }))
        .sort((left, right) => left.index - right.index);
      return {
        embeddings: ordered.map((item) => item.embedding),
        inputTokens: parsed.usage?.prompt_tokens ?? 0,
      };
    });
  }
}
