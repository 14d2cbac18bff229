/**
 * Protocol messages → Gemini `systemInstruction` + `contents`.
 *
 * - System messages become `systemInstruction.parts` (Gemini has no system role).
 * - `assistant` is role `model`; tool calls become `functionCall` parts, tool results
 *   `functionResponse` parts in a `user` turn, named after the call they answer (Gemini matches
 *   results by name, so the name is looked up from the call's id in the history).
 * - Images: data URLs become `inlineData`, http(s) URLs `fileData` with a guessed MIME type.
 * - Consecutive turns of one role are merged.
 */
import type { ChatMessage, ContentPart, Warning } from '../../core/chat-model.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { AlternatingTurns } from '../shared/alternating-turns.js';

export type GeminiPart = Record<string, unknown>;
export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export function convertMessages(
  messages: ChatMessage[],
  warnings: Warning[],
): { systemInstruction?: { parts: GeminiPart[] }; contents: GeminiContent[] } {
  const system: GeminiPart[] = [];
  const turns = new AlternatingTurns<'user' | 'model', GeminiPart>();
  const push = (role: 'user' | 'model', parts: GeminiPart[]) => turns.push(role, parts);
  const toolNames = new Map<string, string>();
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push({ text: message.content });
        break;
      case 'user':
        push('user', userParts(message.content, warnings));
        break;
      case 'assistant': {
        const parts: GeminiPart[] = [];
        if (message.content !== '') parts.push({ text: message.content });
        for (const call of message.toolCalls ?? []) {
          toolNames.set(call.id, call.name);
          parts.push({ functionCall: { name: call.name, args: parseArguments(call.arguments) } });
        }
        if (parts.length > 0) push('model', parts);
        break;
      }
      case 'tool': {
        const name = toolNames.get(message.toolCallId);
        if (!name) {
          throw new InvalidArgumentError(
            `tool result ${message.toolCallId} answers no tool call in the history; saas/gemini needs the call to name the function`,
          );
        }
        push('user', [{ functionResponse: { name, response: toolResponse(message.content) } }]);
        break;
      }
    }
  }
  return { ...(system.length > 0 ? { systemInstruction: { parts: system } } : {}), contents: turns.turns };
}

function userParts(content: string | ContentPart[], warnings: Warning[]): GeminiPart[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part) => {
    if (part.type === 'text') return { text: part.text };
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(part.url);
    if (match) return { inlineData: { mimeType: match[1], data: match[2] } };
    if (/^https?:\/\//i.test(part.url)) {
      if (part.type === 'audio') {
        warnings.push({ type: 'other', setting: 'audio', message: 'audio by URL is sent as fileData' });
      }
      return { fileData: { mimeType: guessMimeType(part.url, part.type), fileUri: part.url } };
    }
    throw new InvalidArgumentError(
      `a ${part.type} for saas/gemini must be a data: URL or an http(s) URL, got "${part.url.slice(0, 40)}"`,
    );
  });
}

function guessMimeType(url: string, kind: 'image' | 'audio'): string {
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    webp: 'image/webp',
    gif: 'image/gif',
    mp3: 'audio/mp3',
    wav: 'audio/wav',
  };
  return (extension && known[extension]) || (kind === 'image' ? 'image/jpeg' : 'audio/wav');
}

/** `functionResponse.response` must be an object: JSON objects pass, anything else is wrapped. */
function toolResponse(content: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(content);
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
    return { result: value };
  } catch {
    return { result: content };
  }
}

function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return value !== null && typeof value === 'object' ? value : { value };
  } catch {
    return { _raw: text };
  }
}
