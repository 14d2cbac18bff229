/**
 * Protocol messages → Anthropic Messages API `system` + `messages`.
 *
 * - System messages are lifted out into the top-level `system` string (joined by blank lines):
 *   the API has no `system` role.
 * - Images become `image` blocks: data URLs as `base64` sources, http(s) URLs as `url` sources.
 * - Tool results become `tool_result` blocks in a user turn; assistant tool calls `tool_use` blocks.
 * - Consecutive turns of the same role are merged, as the API expects alternating turns.
 * - A last assistant message is a prefill the model continues (the protocol's `prefix`); the API
 *   rejects trailing whitespace there, so it is trimmed.
 */
import type { ChatMessage, ContentPart, Warning } from '../../../core/chat-model.js';
import { InvalidArgumentError } from '../../../core/errors.js';
import { AlternatingTurns } from '../alternating-turns.js';

export type AnthropicBlock = Record<string, unknown>;
export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

export function convertMessages(
  messages: ChatMessage[],
  warnings: Warning[],
): { system?: string; messages: AnthropicMessage[] } {
  const system: string[] = [];
  const turns = new AlternatingTurns<'user' | 'assistant', AnthropicBlock>();
  const push = (role: 'user' | 'assistant', blocks: AnthropicBlock[]) => turns.push(role, blocks);
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', userBlocks(message.content, warnings));
        break;
      case 'assistant': {
        const blocks: AnthropicBlock[] = [];
        if (message.content !== '') blocks.push({ type: 'text', text: message.content });
        for (const call of message.toolCalls ?? []) {
          blocks.push({
            type: 'tool_use',
            id: call.id,
            name: call.name,
            input: parseArguments(call.arguments),
          });
        }
        if (blocks.length > 0) push('assistant', blocks);
        break;
      }
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  const converted: AnthropicMessage[] = turns.turns.map(({ role, parts }) => ({ role, content: parts }));
  const last = converted.at(-1);
  if (last?.role === 'assistant') {
    // A prefill: the API refuses one that ends in whitespace.
    const block = last.content.at(-1);
    if (block?.type === 'text') block.text = String(block.text).trimEnd();
  }
  return { ...(system.length > 0 ? { system: system.join('\n\n') } : {}), messages: converted };
}

function userBlocks(content: string | ContentPart[], warnings: Warning[]): AnthropicBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  const blocks: AnthropicBlock[] = [];
  for (const part of content) {
    if (part.type === 'text') blocks.push({ type: 'text', text: part.text });
    else if (part.type === 'image') blocks.push(imageBlock(part.url));
    else {
      warnings.push({
        type: 'unsupported-setting',
        setting: 'audio',
        message: 'saas/claude takes no audio input; the audio part was left out',
      });
    }
  }
  return blocks;
}

function imageBlock(url: string): AnthropicBlock {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match) return { type: 'image', source: { type: 'base64', media_type: match[1], data: match[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new InvalidArgumentError(
    `an image for saas/claude must be a data:image/...;base64, URL or an http(s) URL, got "${url.slice(0, 40)}"`,
  );
}

/** Anthropic wants the tool input as an object; invalid JSON text is kept under `_raw`. */
function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return value !== null && typeof value === 'object' ? value : { value };
  } catch {
    return { _raw: text };
  }
}
