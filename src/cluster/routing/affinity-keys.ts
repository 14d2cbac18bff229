/**
 * The prompt-prefix keys that prefix affinity routes on.
 *
 * A key is a 32-bit FNV-1a hash of the formatted messages up to a message boundary, or of their
 * first `limitChars` characters when the prompt is longer: turn N+1 of a conversation starts with
 * every message of turn N, so it shares turn N's keys, and requests with the same long system prompt
 * share that prompt's key. Prefixes shorter than `minChars` get no key: a short shared prefix is not
 * worth pinning load to one worker. Hashing is one pass over at most `limitChars` characters.
 */
import type { ChatMessage } from '../../core/index.js';

export interface AffinityKeyOptions {
  /** Characters of the formatted prompt that the longest key covers. Defaults to 2048. */
  limitChars?: number;
  /** A prefix shorter than this gets no key. Defaults to 128. */
  minChars?: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The keys of `messages`' prefixes, longest first; empty when the prompt is shorter than `minChars`. */
export function affinityKeysOf(messages: readonly ChatMessage[], options: AffinityKeyOptions = {}): number[] {
  const limitChars = options.limitChars ?? 2048;
  const minChars = options.minChars ?? 128;
  const keys: number[] = [];
  let hash = FNV_OFFSET;
  let length = 0;
  for (const message of messages) {
    const text = `${message.role}\u0000${contentText(message)}\u0001`;
    const end = Math.min(text.length, limitChars - length);
    for (let index = 0; index < end; index++) hash = Math.imul(hash ^ text.charCodeAt(index), FNV_PRIME);
    length += end;
    if (length >= minChars) keys.push(hash >>> 0);
    if (length >= limitChars) break;
  }
  return keys.reverse();
}

/** The text a message contributes to the prompt; media parts count by the start of their URL. */
function contentText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => (part.type === 'text' ? part.text : `[${part.type}:${part.url.slice(0, 256)}]`))
    .join('');
}
