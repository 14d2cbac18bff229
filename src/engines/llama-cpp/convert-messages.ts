/**
 * Protocol messages → node-llama-cpp chat history.
 *
 * The GGUF's chat template (through node-llama-cpp's chat wrapper) renders the history, so the
 * engine hands over roles and text only. An assistant's tool calls become node-llama-cpp function
 * calls carrying the results of the tool messages that answer them, so the chat wrapper renders the
 * exchange in the model's own format. Parts a small local text model cannot take (images, audio)
 * and tool results that answer no call are reported as warnings and passed on as text.
 */
import type { ChatHistoryItem, ChatModelFunctionCall } from 'node-llama-cpp';
import type { ChatMessage, ToolCall, Warning } from '../../core/chat-model.js';

export function toChatHistory(messages: ChatMessage[], warnings: Warning[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const calls = new Set(
    messages
      .flatMap((message) => (message.role === 'assistant' ? (message.toolCalls ?? []) : []))
      .map((call) => call.id),
  );
  const results = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'tool' && calls.has(message.toolCallId))
      results.set(message.toolCallId, message.content);
  }
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
        history.push({
          type: 'model',
          response: [
            ...(message.content || !message.toolCalls?.length ? [message.content] : []),
            ...(message.toolCalls ?? []).map((call) => functionCall(call, results.get(call.id))),
          ],
        });
        break;
      case 'tool':
        if (results.has(message.toolCallId)) break; // rendered with the call it answers
        warnings.push({
          type: 'unsupported-setting',
          setting: 'messages.tool',
          message: `tool result ${message.toolCallId} answers no tool call of an assistant message; it was sent as user text`,
        });
        history.push({ type: 'user', text: `Tool result (${message.toolCallId}): ${message.content}` });
        break;
    }
  }
  return history;
}

function functionCall(call: ToolCall, result: string | undefined): ChatModelFunctionCall {
  return {
    type: 'functionCall',
    name: call.name,
    params: parseArguments(call.arguments),
    result: result ?? '',
  };
}

/** The arguments as JSON when they are JSON (models sometimes write other text): the wrapper renders them. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
