/**
 * Long output over several calls (byzer-spec §4.5). The prompt asks the model to start its answer
 * with the start marker and end it with the end marker, possibly over several turns; while the end
 * marker has not appeared (and fewer than `maxTurns` calls were made) the client asks it to continue.
 * The non-stream result is the text between the markers (the whole text when the end marker never
 * came — Byzer-LLM cut its last character instead).
 */
import nunjucks from 'nunjucks';
import type { ConversationMessage } from './conversation.js';
import type { LlmConfig } from './llm-config.js';
import type { PromptLlm } from './prompt-llm.js';

export const DEFAULT_MARKERS: [string, string] = ['<RESPONSE>', '</RESPONSE>'];

const DEFAULT_TEMPLATE = [
  'Your answer may be long and may take several turns.',
  'Start the first turn with {{ RESPONSE_START }} and end the last turn with {{ RESPONSE_END }};',
  'turns in between carry no markers. When asked to continue, go on exactly where you stopped.',
].join(' ');

export interface Markers {
  start: string;
  end: string;
  template?: string;
}

const environment = new nunjucks.Environment(null, { autoescape: false });

export function markerInstruction(markers: Markers): string {
  return environment.renderString(markers.template ?? DEFAULT_TEMPLATE, {
    RESPONSE_START: markers.start,
    RESPONSE_END: markers.end,
  });
}

export interface ContinueOptions {
  llm: PromptLlm;
  conversation: ConversationMessage[];
  markers: Markers;
  maxTurns: number;
  continuePrompt: string;
  callOptions: { model?: string; llmConfig?: LlmConfig; extraRequestParams?: Record<string, unknown> };
}

export async function continueWithMarkers(options: ContinueOptions): Promise<string> {
  const conversation = [...options.conversation];
  let all = '';
  let last = '';
  for (let turn = 0; turn < options.maxTurns; turn++) {
    if (turn > 0) conversation.push({ role: 'user', content: options.continuePrompt });
    const [response] = await options.llm.chatOai({ conversations: conversation, ...options.callOptions });
    last = response!.output;
    all += last;
    conversation.push({ role: 'assistant', content: last });
    if (last.includes(options.markers.end)) break;
  }
  return between(all, options.markers);
}

export async function* streamWithMarkers(options: ContinueOptions): AsyncGenerator<string> {
  const conversation = [...options.conversation];
  let all = '';
  for (let turn = 0; turn < options.maxTurns; turn++) {
    if (turn > 0) conversation.push({ role: 'user', content: options.continuePrompt });
    let text = '';
    for await (const [delta] of options.llm.streamChatOai({
      conversations: conversation,
      deltaMode: true,
      ...options.callOptions,
    })) {
      text += delta;
      if (delta) yield delta;
    }
    all += text;
    conversation.push({ role: 'assistant', content: text });
    if (all.includes(options.markers.end)) break;
  }
}

/** The text between the first start marker and the first end marker after it. */
export function between(text: string, markers: Markers): string {
  const startIndex = text.indexOf(markers.start);
  const from = startIndex >= 0 ? startIndex + markers.start.length : 0;
  const endIndex = text.indexOf(markers.end, from);
  return text.slice(from, endIndex >= 0 ? endIndex : text.length).trim();
}
