/**
 * `EmbeddingModelV1` over an OpenAI-compatible `POST {base_url}/embeddings`.
 *
 * `encoding_format: "float"` is sent explicitly: the OpenAI default is float too, but several
 * vendors' OpenAI-compatible modes (Zhipu, DashScope) only answer floats when asked, and an upstream
 * that answers base64 anyway is decoded. Results are ordered by `index`, not by arrival.
 */
import type { CallOptions } from '../../../core/chat-model.js';
import { UpstreamError } from '../../../core/errors.js';
import type { EmbeddingModelV1, EmbeddingRequest, EmbeddingResult } from '../../../core/models.js';
import type { OpenAICompatibleModelConfig } from './openai-compatible-chat-model.js';
import { embeddingResponseSchema } from './wire-schemas.js';
import { parseWireBody } from '../wire-body.js';
import { mergeExtra } from '../extra-fields.js';
import { ProviderModel } from '../provider-model.js';

export class OpenAICompatibleEmbeddingModel
  extends ProviderModel<OpenAICompatibleModelConfig>
  implements EmbeddingModelV1
{
  async doEmbed(request: EmbeddingRequest, options: CallOptions = {}): Promise<EmbeddingResult> {
    if (request.values.length === 0) return { embeddings: [], usage: { inputTokens: 0 } };
    const body: Record<string, unknown> = {
      model: this.modelId,
      input: request.values,
      encoding_format: 'float',
    };
    if (request.dimensions !== undefined) body.dimensions = request.dimensions;
    mergeExtra(body, request.extra);

    const response = await this.config.client.postJson('/embeddings', body, options);
    const parsed = parseWireBody(embeddingResponseSchema, response.body, {
      provider: this.provider,
      what: 'embedding response',
    });
    if (parsed.data.length !== request.values.length) {
      throw new UpstreamError(
        'upstream_error',
        `${this.provider} returned ${parsed.data.length} embeddings for ${request.values.length} inputs`,
        { details: { provider: this.provider } },
      );
    }
    const ordered = parsed.data
      .map((item, position) => ({ index: item.index ?? position, embedding: item.embedding }))
      .sort((left, right) => left.index - right.index);
    return {
      embeddings: ordered.map((item) =>
        typeof item.embedding === 'string' ? decodeBase64Floats(item.embedding) : item.embedding,
      ),
      usage: { inputTokens: parsed.usage?.prompt_tokens ?? 0 },
    };
  }
}

/** Base64 of little-endian float32 values (what OpenAI sends for `encoding_format: "base64"`). */
function decodeBase64Floats(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const values: number[] = new Array(Math.floor(bytes.length / 4));
  for (let position = 0; position < values.length; position++)
    values[position] = bytes.readFloatLE(position * 4);
  return values;
}
