/**
 * OpenAI `finish_reason` → protocol `FinishReason`. Vendors' own reasons become `other`; DashScope's
 * native protocol sends the string `"null"` while generating, read as no reason yet.
 */
import type { FinishReason } from '../../../core/chat-model.js';

export function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    // DeepSeek: the server ran out of capacity mid-answer.
    case 'insufficient_system_resource':
      return 'error';
    case null:
    case undefined:
    case 'null':
      return 'unknown';
    default:
      return 'other';
  }
}
