/**
 * Protocol `ChatMessage`s → OpenAI chat `messages`.
 *
 * - user content parts: text → `text`, image → `image_url` (`detail` kept), audio data URL →
 *   `input_audio` (OpenAI takes base64 plus a format, not a URL).
 * - assistant tool calls → `tool_calls` of type `function`; tool results → `role: 'tool'`.
 * - an assistant `prefix: true` (chat prefix completion) → `prefix: true` on that message, the
 *   DeepSeek convention that other OpenAI-compatible servers either follow or ignore. It is only
 *   meaningful on the last message, so anywhere else it is an `InvalidArgumentError`.
 */
import type { ChatMessage, ContentPart } from '../../../core/chat-model.js';
import { InvalidArgumentError } from '../../../core/errors.js';

export type OpenAIContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
  | { type: 'input_audio'; input_audio: { data: string; format: string } };

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type OpenAIMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | OpenAIContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[]; prefix?: true }
  | { role: 'tool'; tool_call_id: string; content: string };

export function convertMessages(messages: readonly ChatMessage[]): OpenAIMessage[] {
  return messages.map((message, position): OpenAIMessage => {
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content };
      case 'user':
        return {
          role: 'user',
          content: typeof message.content === 'string' ? message.content : message.content.map(convertPart),
        };
      case 'assistant': {
        const converted: OpenAIMessage = { role: 'assistant', content: message.content };
        if (message.toolCalls && message.toolCalls.length > 0) {
          // OpenAI wants `null` content next to tool calls rather than an empty string.
          if (message.content === '') converted.content = null;
          converted.tool_calls = message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          }));
        }
        if (message.prefix) {
          if (position !== messages.length - 1) {
            throw new InvalidArgumentError(
              `assistant message ${position} has prefix: true, but only the last message may be a prefix`,
            );
          }
          converted.prefix = true;
        }
        return converted;
      }
      case 'tool':
        return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
      default: {
        const unknown: never = message;
        throw new InvalidArgumentError(`unknown message role in ${JSON.stringify(unknown)}`);
      }
    }
  });
}

function convertPart(part: ContentPart): OpenAIContentPart {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image':
      return {
        type: 'image_url',
        image_url: part.detail === undefined ? { url: part.url } : { url: part.url, detail: part.detail },
      };
    case 'audio':
      return { type: 'input_audio', input_audio: audioFromDataUrl(part.url) };
    default: {
      const unknown: never = part;
      throw new InvalidArgumentError(`unknown content part type in ${JSON.stringify(unknown)}`);
    }
  }
}

/** `data:audio/wav;base64,AAAA` → `{ data: 'AAAA', format: 'wav' }` (`audio/mpeg` is `mp3`). */
function audioFromDataUrl(url: string): { data: string; format: string } {
  const match = /^data:audio\/([\w.+-]+);base64,(.*)$/s.exec(url);
  if (!match) {
    throw new InvalidArgumentError(
      `an audio part must be a data:audio/<format>;base64,… URL for OpenAI-compatible models, got ${url.slice(0, 40)}…`,
    );
  }
  const subtype = match[1]!.toLowerCase();
  const format = subtype === 'mpeg' ? 'mp3' : subtype === 'x-wav' || subtype === 'wave' ? 'wav' : subtype;
  return { data: match[2]!, format };
}
