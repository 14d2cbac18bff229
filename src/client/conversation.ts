/**
 * Byzer-LLM's conversations (`[{role, content}]`, or one string) → protocol `ChatMessage`s.
 *
 * Copies: the caller's list and messages are never modified (Byzer-LLM mutated them). A last
 * assistant message becomes a prefix to continue when `responsePrefix` is set (chat prefix
 * completion); user content with images (tags or Byzer-LLM's JSON) becomes content parts.
 */
import { type ChatMessage, InvalidArgumentError, type ToolCall } from '../core/index.js';
import { contentToParts } from './multimodal.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One message as Byzer-LLM writes it. `content` may also be protocol content parts. */
export interface ConversationMessage {
  role: Role | string;
  content: string | ChatMessage['content'];
  /** For `tool` messages. */
  toolCallId?: string;
  /** For assistant messages that called tools. */
  toolCalls?: ToolCall[];
}

export type Conversation = string | readonly ConversationMessage[];

export function toChatMessages(
  conversation: Conversation,
  options: { responsePrefix?: boolean } = {},
): ChatMessage[] {
  const list: readonly ConversationMessage[] =
    typeof conversation === 'string' ? [{ role: 'user', content: conversation }] : conversation;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidArgumentError('conversations must be a non-empty list of {role, content} or a string');
  }
  return list.map((message, position) => {
    const content = message.content;
    const text = typeof content === 'string' ? content : undefined;
    switch (message.role) {
      case 'system':
        return { role: 'system', content: text ?? joinText(content) };
      case 'user':
        return { role: 'user', content: text === undefined ? content : contentToParts(text) };
      case 'assistant': {
        const assistant: ChatMessage = { role: 'assistant', content: text ?? joinText(content) };
        if (message.toolCalls?.length) assistant.toolCalls = message.toolCalls;
        if (options.responsePrefix && position === list.length - 1) assistant.prefix = true;
        return assistant;
      }
      case 'tool':
        return { role: 'tool', toolCallId: message.toolCallId ?? '', content: text ?? joinText(content) };
      default:
        throw new InvalidArgumentError(
          `message ${position} has role ${JSON.stringify(message.role)}; allowed: system, user, assistant, tool`,
        );
    }
  }) as ChatMessage[];
}

function joinText(content: unknown): string {
  if (!Array.isArray(content)) return String(content ?? '');
  return content
    .filter((part): part is { type: 'text'; text: string } => part?.type === 'text')
    .map((part) => part.text)
    .join('\n');
}
