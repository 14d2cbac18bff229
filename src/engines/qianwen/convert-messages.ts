/**
 * Protocol messages → DashScope `input.messages`.
 *
 * Text models (`generation`) take `{role, content: string}`; multimodal models
 * (`multimodal-generation`, qwen-vl) take `content` as a list of `{text}` / `{image}` items, where an
 * image is an http(s) URL or a `data:` URL. A last assistant message marked `prefix` is sent with
 * `partial: true` (DashScope's continuation mode). Tool results become `role: "tool"` messages.
 */
import type { ChatMessage, Warning } from '../../core/chat-model.js';

export function convertMessages(
  messages: ChatMessage[],
  multimodal: boolean,
  warnings: Warning[],
): Record<string, unknown>[] {
  return messages.map((message) => convertMessage(message, multimodal, warnings));
}

function convertMessage(
  message: ChatMessage,
  multimodal: boolean,
  warnings: Warning[],
): Record<string, unknown> {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: multimodal ? [{ text: message.content }] : message.content };
    case 'user': {
      if (typeof message.content === 'string') {
        return { role: 'user', content: multimodal ? [{ text: message.content }] : message.content };
      }
      if (!multimodal) {
        if (message.content.some((part) => part.type !== 'text')) {
          warnings.push({
            type: 'unsupported-setting',
            setting: 'content',
            message: 'image and audio parts are dropped by text models; deploy saas/qianwen_vl for images',
          });
        }
        const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
        return { role: 'user', content: text };
      }
      return {
        role: 'user',
        content: message.content.map((part) => {
          if (part.type === 'text') return { text: part.text };
          if (part.type === 'image') return { image: part.url };
          return { audio: part.url };
        }),
      };
    }
    case 'assistant': {
      const converted: Record<string, unknown> = {
        role: 'assistant',
        content: multimodal ? [{ text: message.content }] : message.content,
      };
      if (message.toolCalls && message.toolCalls.length > 0) {
        converted.tool_calls = message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        }));
      }
      if (message.prefix) converted.partial = true;
      return converted;
    }
    case 'tool':
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId };
  }
}
