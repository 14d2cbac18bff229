import type { FinishReason } from '../../core/chat-model.js';

/** DashScope `finish_reason`: `"null"` (a string) while generating, then `stop`, `length` or `tool_calls`. */
export function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
      return 'tool-calls';
    case null:
    case undefined:
    case 'null':
      return 'unknown';
    default:
      return 'other';
  }
}
