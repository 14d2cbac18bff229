/**
 * Byzer-LLM's default system message (`enable_default_sys_message`, byzer-spec §3.3 step 3): when a
 * call asks for abilities (function calling, structured output, function implementation), a system
 * message with a "base abilities" preamble goes first; a conversation that already starts with a
 * system message gets the preamble prepended to it, abilities or not. `setupBaseSystemMessages`
 * replaces the preamble per model. Unlike Byzer-LLM, the caller's list is never modified.
 */
import type { Conversation, ConversationMessage } from './conversation.js';

export type Ability = 'function_calling' | 'response_with_class' | 'function_impl';

const ABILITY_TEXT: Record<Ability, string> = {
  function_calling: 'FUNCTION_CALLING: you can choose functions to call and answer with their calls as JSON.',
  response_with_class: 'RESPONSE_WITH_CLASS: you can answer with JSON that follows a given JSON Schema.',
  function_impl: 'FUNCTION_IMPL: you can write the body of a described function.',
};

/** The built-in preamble, naming the abilities this call uses. */
export function basePreamble(abilities: readonly Ability[]): string {
  return [
    'You are a helpful assistant. You know JSON, JSON Schema and OpenAPI 3.1.',
    'You have these abilities:',
    ...abilities.map((ability) => `- ${ABILITY_TEXT[ability]}`),
    'OTHERS: answer any other question directly.',
  ].join('\n');
}

/** The conversation with the default system message applied (a copy). */
export function withDefaultSystemMessage(
  conversation: Conversation,
  abilities: readonly Ability[],
  baseSystemMessage: string | undefined,
): Conversation {
  const list: ConversationMessage[] =
    typeof conversation === 'string' ? [{ role: 'user', content: conversation }] : [...conversation];
  const preamble = baseSystemMessage ?? basePreamble(abilities);
  const first = list[0];
  if (first?.role === 'system') {
    const content = typeof first.content === 'string' ? first.content : '';
    list[0] = { ...first, content: `${preamble}\n\n${content}` };
    return list;
  }
  if (abilities.length === 0) return conversation;
  return [{ role: 'system', content: preamble }, ...list];
}
