/**
 * `ChatModelV1` over the Anthropic Messages API, `POST {base_url}/v1/messages`.
 *
 * Request mapping: `maxTokens` → `max_tokens` (required by the API; defaults to `saas.max_tokens`,
 * 4096), `temperature`, `topP` → `top_p`, `topK` → `top_k`, `stop` → `stop_sequences`, tools →
 * `{name, description, input_schema}`, `toolChoice` → `{type: auto|any|none|tool}`. `seed`,
 * penalties and JSON response formats have no Anthropic field: each becomes a warning.
 * `request.extra` is merged last (e.g. `thinking`, `metadata`).
 */
import { randomUUID } from 'node:crypto';
import type { CallOptions, ChatModelV1, ChatRequest, ChatResult, StreamPart } from '../../core/chat-model.js';
import type { HttpClient } from '../shared/http-client.js';
import type { ResponseHeaders } from '../shared/retry-policy.js';
import { buildClaudeBody, claudeResultFromMessage } from '../shared/anthropic-messages/messages-body.js';
import { mapClaudeStream } from '../shared/anthropic-messages/map-stream.js';
import { ProviderModel } from '../shared/provider-model.js';

export interface ClaudeModelConfig {
  provider: string;
  modelId: string;
  client: HttpClient;
  defaultMaxTokens: number;
  secrets: readonly string[];
}

export class ClaudeChatModel extends ProviderModel<ClaudeModelConfig> implements ChatModelV1 {
  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const { body, warnings } = buildClaudeBody(this.modelId, request, this.config.defaultMaxTokens);
    const response = await this.config.client.postJson('/v1/messages', body, options);
    return claudeResultFromMessage(response.body, {
      provider: this.provider,
      modelId: this.modelId,
      fallbackRequestId: requestIdFrom(response.headers),
      warnings,
    });
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const { body, warnings } = buildClaudeBody(this.modelId, request, this.config.defaultMaxTokens);
    body.stream = true;
    const response = await this.config.client.postEventStream('/v1/messages', body, options);
    return mapClaudeStream({
      events: response.events,
      provider: this.provider,
      secrets: this.config.secrets,
      fallbackRequestId: requestIdFrom(response.headers),
      warnings,
    });
  }
}

function requestIdFrom(headers: ResponseHeaders): string {
  const header = headers['request-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value || `msg_${randomUUID()}`;
}
