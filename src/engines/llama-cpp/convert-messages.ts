/**
 * Protocol messages → node-llama-cpp chat history.
 *
 * The GGUF's chat template (through node-llama-cpp's chat wrapper) renders the history, so the
 * engine hands over roles and text only. Parts a small local text model cannot take (images,
 * audio) and tool messages are reported as warnings and passed on as text where that makes sense.
 */
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { ChatMessage, Warning } from '../../core/chat-model.js';

export function toChatHistory(messages: ChatMessage[], warnings: Warning[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        history.push({ type: 'system', text: message.content });
        break;
      case 'user': {
        if (typeof message.content === 'string') {
          history.push({ type: 'user', text: message.content });
          break;
        }
        const texts: string[] = [];
        for (const part of message.content) {
          if (part.type === 'text') texts.push(part.text);
          else {
            warnings.push({
              type: 'unsupported-setting',
              setting: `content.${part.type}`,
              message: `the llama_cpp engine reads text only; a ${part.type} part was left out`,
            });
          }
        }
        history.push({ type: 'user', text: texts.join('\n') });
        break;
      }
      case 'assistant':
        history.push({ type: 'model', response: [message.content] });
        break;
      case 'tool':
        warnings.push({
          type: 'unsupported-setting',
          setting: 'messages.tool',
          message: 'the llama_cpp engine has no tool messages; the tool result was sent as user text',
        });
        history.push({ type: 'user', text: `Tool result (${message.toolCallId}): ${message.content}` });
        break;
    }
  }
  return history;
}
