/**
 * Plain-text generation straight on a context sequence, for requests that need nothing of
 * `LlamaChat`.
 *
 * `LlamaChat` runs, per generated token, a stop-trigger detector over token and text windows, a
 * token stream regulator with locks, segment (thought) tracking, function-call prefix detection and
 * the rendering of the whole context window; on the tiny GGUF that bookkeeping is about a tenth of
 * the worker's CPU per token. A request without tools, grammar, thought segments, an assistant
 * prefix or a prompt that needs the context shifted uses none of it. For those the engine renders
 * the prompt once with the same chat wrapper, evaluates it with `sequence.evaluate` and the same
 * sampling options `LlamaChat` passes (repeat penalty over the last 64 generated tokens, new lines
 * excepted; evaluation priority 5), detokenizes each token with the tokens before it as
 * `LlamaChat` does, and stops at an end-of-generation token, at the wrapper's text stop triggers or
 * at the request's `stop` strings (text that could begin one is held back until it cannot), or
 * after `maxTokens`. The result, streamed and whole, is the same text `LlamaChat` gives
 * (test/engines/llama-cpp-plain.test.ts compares them).
 */
import {
  type ChatHistoryItem,
  type ChatWrapper,
  LlamaText,
  type LlamaContextSequence,
  type LlamaContextSequenceRepeatPenalty,
  type SequenceEvaluateOptions,
  type Token,
} from 'node-llama-cpp';
import { AbortedError } from '../../core/errors.js';
import type { SequencePool } from './sequence-pool.js';
import { TokenTexts } from './token-texts.js';

/** How `LlamaChat` names why it stopped; the plain path gives the subset it can reach. */
export type PlainStopReason = 'eogToken' | 'stopGenerationTrigger' | 'customStopTrigger' | 'maxTokens';

/** A rendered prompt the plain path can generate from; see `preparePlainPrompt`. */
export interface PlainPrompt {
  tokens: Token[];
  /** The wrapper's stop triggers that are plain text (the others all begin with an end-of-generation token). */
  wrapperStops: string[];
  /** Texts the wrapper drops from the start of an answer (`LlamaChat`'s `ignoreStartText`). */
  ignoreStart: string[];
}

export interface PlainGenerationOptions {
  maxTokens: number;
  /** The request's `stop` strings. */
  stop: readonly string[];
  /** Sampling options as `LlamaChat` passes them to `sequence.evaluate` (see `samplingOf`). */
  sampling: PlainSampling;
  /** The pool the sequence came from: it erases what the sequence holds beyond the prompt's prefix. */
  sequences: Pick<SequencePool, 'prepare' | 'pauseForErase'>;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
}

/** `sequence.evaluate` options less the penalised tokens, which the generation itself provides. */
export type PlainSampling = Omit<SequenceEvaluateOptions, 'repeatPenalty'> & {
  repeatPenalty: Omit<LlamaContextSequenceRepeatPenalty, 'punishTokens'>;
};

/** `LlamaChat`'s defaults for the repeat penalty window and the evaluation priority. */
const REPEAT_PENALTY_LAST_TOKENS = 64;
const EVALUATION_PRIORITY = 5;
/** What a detokenized token ends with while its UTF-8 character needs the next token(s). */
const INCOMPLETE_CHARACTER = '\uFFFD';
/** A UTF-8 character spans at most four byte tokens. */
const MAX_PARTIAL_TOKENS = 4;

/**
 * Renders `history` (which must not end with a model message) with `chatWrapper`, or answers
 * `undefined` when the rendering asks for something only `LlamaChat` does: thought segments,
 * text to ignore at the start, function-call or prefix triggers, a stop trigger that is neither
 * plain text nor led by an end-of-generation token, or a prompt and `maxTokens` that do not fit the
 * sequence's context without shifting it.
 */
export function preparePlainPrompt(
  sequence: LlamaContextSequence,
  chatWrapper: ChatWrapper,
  history: ChatHistoryItem[],
  maxTokens: number,
): PlainPrompt | undefined {
  const segments = chatWrapper.settings.segments;
  if (segments?.thought || segments?.comment || history.at(-1)?.type === 'model') return undefined;
  if (needsLlamaChat.has(chatWrapper)) return undefined;
  const state = chatWrapper.generateContextState({
    chatHistory: [...history, { type: 'model', response: [] }],
  });
  const ignoreStart: string[] = [];
  for (const text of state.ignoreStartText ?? []) {
    const plain = plainTextOf(text);
    if (plain === undefined) return refuse(chatWrapper);
    ignoreStart.push(plain);
  }
  if (
    state.functionCall?.initiallyEngaged ||
    state.prefixTriggers?.length ||
    state.noPrefixTrigger ||
    state.rerender ||
    state.detectFunctionCalls === true
  ) {
    return undefined;
  }
  const model = sequence.model;
  const wrapperStops: string[] = [];
  for (const trigger of state.stopGenerationTriggers) {
    const kind = stopTriggerKind(trigger, sequence);
    if (kind === 'unsupported') return refuse(chatWrapper);
    if (kind !== 'end-of-generation') wrapperStops.push(kind.text);
  }
  const tokens = state.contextText.tokenize(model.tokenizer);
  if (tokens.length + maxTokens + 1 >= sequence.contextSize) return undefined;
  return { tokens, wrapperStops, ignoreStart };
}

/**
 * Wrappers whose stop triggers or start texts only `LlamaChat` handles: they are the same for every
 * plain request, so later requests skip rendering the prompt twice.
 */
const needsLlamaChat = new WeakSet<ChatWrapper>();

function refuse(chatWrapper: ChatWrapper): undefined {
  needsLlamaChat.add(chatWrapper);
  return undefined;
}

/** The text of `text` when it has no special tokens. */
function plainTextOf(text: string | LlamaText): string | undefined {
  if (typeof text === 'string') return text;
  return text.values.every((value) => typeof value === 'string') ? text.values.join('') : undefined;
}

function stopTriggerKind(
  trigger: LlamaText,
  sequence: LlamaContextSequence,
): 'end-of-generation' | 'unsupported' | { text: string } {
  const values = trigger.values;
  if (values.length === 0) return 'unsupported';
  const text = plainTextOf(trigger);
  if (text !== undefined) return { text };
  const first = values[0]!;
  if (typeof first === 'string') return 'unsupported';
  // Generation ends at any end-of-generation token, whatever follows it in the trigger.
  const firstToken = LlamaText([first]).tokenize(sequence.model.tokenizer)[0];
  return firstToken !== undefined && sequence.model.isEogToken(firstToken)
    ? 'end-of-generation'
    : 'unsupported';
}

/**
 * The sampling options `LlamaChat` would pass to `sequence.evaluate` for these request settings
 * (its default repeat penalty window included; requests with penalties of their own go to `LlamaChat`).
 */
export function samplingOf(
  settings: Pick<SequenceEvaluateOptions, 'temperature' | 'topK' | 'topP' | 'minP' | 'seed'>,
): PlainSampling {
  return {
    ...(settings.temperature === undefined ? {} : { temperature: settings.temperature }),
    ...(settings.minP === undefined ? {} : { minP: settings.minP }),
    ...(settings.topK === undefined ? {} : { topK: settings.topK }),
    ...(settings.topP === undefined ? {} : { topP: settings.topP }),
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    repeatPenalty: { maxPunishTokens: REPEAT_PENALTY_LAST_TOKENS },
    evaluationPriority: EVALUATION_PRIORITY,
    yieldEogToken: true,
  };
}

/**
 * Generates on `sequence` from `prompt`. The sequence may still hold an earlier request's tokens
 * (the sequence pool keeps them for prefix reuse): the common prefix stays in its KV cache and
 * only the rest of the prompt is evaluated, as `LlamaChat` and `LlamaCompletion` do. Between
 * tokens it gives way to another request's erase on the same context (`pauseForErase`).
 * An abort fails with `AbortedError`, as `LlamaChat` with `stopOnAbortSignal: false` does.
 */
export async function generatePlainText(
  sequence: LlamaContextSequence,
  prompt: PlainPrompt,
  options: PlainGenerationOptions,
): Promise<{ text: string; stopReason: PlainStopReason }> {
  const model = sequence.model;
  const newLine = model.tokens.nl;
  const generated: Token[] = [];
  /** The prompt and the generated tokens: the detokenizer looks at the last few. */
  const recent: Token[] = prompt.tokens.slice(-4);
  const stops = new TextStops(prompt, options.stop, options.onTextChunk);
  const punishTokens = () => {
    const last = generated.slice(-REPEAT_PENALTY_LAST_TOKENS);
    return newLine === undefined ? last : last.filter((token) => token !== newLine);
  };
  const sampling: SequenceEvaluateOptions = {
    ...options.sampling,
    repeatPenalty: { ...options.sampling.repeatPenalty, punishTokens },
  };
  const texts = new TokenTexts(model);
  const partial: Token[] = [];
  let count = 0;
  let afterText = false;
  // Before the erase: an aborted request leaves the sequence's tokens (a later prompt's prefix) as
  // they are, and one aborted while the erase waited for the context lock evaluates nothing.
  const aborted = abortFlag(options.signal);
  try {
    const input = await options.sequences.prepare(sequence, prompt.tokens);
    if (aborted.raised) throw new AbortedError(undefined, { cause: options.signal?.reason });
    for await (const token of sequence.evaluate(input, sampling)) {
      if (aborted.raised) throw new AbortedError(undefined, { cause: options.signal?.reason });
      count++;
      if (texts.endsGeneration(token)) return { text: stops.end(), stopReason: 'eogToken' };
      partial.push(token);
      const text = texts.textOf(partial, recent, afterText);
      const incomplete =
        text.endsWith(INCOMPLETE_CHARACTER) &&
        partial.length < MAX_PARTIAL_TOKENS &&
        !model.isSpecialToken(token);
      if (!incomplete) {
        for (const done of partial) {
          generated.push(done);
          recent.push(done);
        }
        if (recent.length > 16) recent.splice(0, recent.length - 4);
        partial.length = 0;
        afterText ||= text !== '';
        const stopped = stops.add(text);
        if (stopped) return { text: stops.text, stopReason: stopped };
      }
      if (count >= options.maxTokens) return { text: stops.end(), stopReason: 'maxTokens' };
      const pause = options.sequences.pauseForErase();
      if (pause) await pause;
    }
  } finally {
    aborted.release();
  }
  // The iterator ends only when the sequence is disposed under it.
  throw new AbortedError('the llama.cpp sequence was disposed during generation');
}

/**
 * Whether `signal` fired, as a plain field: reading `signal.aborted` for every token cost more
 * than the flag an abort listener sets.
 */
function abortFlag(signal: AbortSignal | undefined): { raised: boolean; release(): void } {
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
  const flag = { raised: false, release: () => {} };
  if (!signal) return flag;
  const listener = () => {
    flag.raised = true;
  };
  signal.addEventListener('abort', listener, { once: true });
  flag.release = () => signal.removeEventListener('abort', listener);
  return flag;
}

/**
 * The generated text against the stop strings: text that could still be the start of one waits;
 * the rest goes to `onTextChunk` at once.
 */
class TextStops {
  text = '';
  private sent = 0;
  private readonly wrapperStops: readonly string[];
  private readonly all: readonly string[];
  private readonly longest: number;
  /** Texts to drop from the start of the answer, until the start is decided (then empty). */
  private ignoreStart: readonly string[];
  private start = '';

  constructor(
    prompt: PlainPrompt,
    private readonly customStops: readonly string[],
    private readonly onTextChunk: ((text: string) => void) | undefined,
  ) {
    this.wrapperStops = prompt.wrapperStops;
    this.ignoreStart = prompt.ignoreStart.filter((text) => text !== '');
    this.all = [...this.wrapperStops, ...customStops].filter((stop) => stop !== '');
    this.longest = Math.max(0, ...this.all.map((stop) => stop.length));
  }

  /** Adds generated text; answers which kind of stop string it completed, if any. */
  add(generated: string): 'stopGenerationTrigger' | 'customStopTrigger' | undefined {
    const text = this.ignoreStart.length > 0 ? this.afterIgnoredStart(generated) : generated;
    if (text === '') return undefined;
    const searchFrom = Math.max(0, this.text.length - this.longest + 1);
    this.text += text;
    if (this.longest === 0) {
      this.send(this.text.length);
      return undefined;
    }
    const wrapperAt = firstIndex(this.text, this.wrapperStops, searchFrom);
    const customAt = firstIndex(this.text, this.customStops, searchFrom);
    const at = Math.min(wrapperAt, customAt);
    if (at !== Number.POSITIVE_INFINITY) {
      this.text = this.text.slice(0, at);
      this.send(at);
      return wrapperAt <= customAt ? 'stopGenerationTrigger' : 'customStopTrigger';
    }
    this.send(this.text.length - this.heldBack());
    return undefined;
  }

  /** Generation ended without a stop string: what was held back is text after all. */
  end(): string {
    if (this.ignoreStart.length > 0) {
      const start = this.start;
      this.ignoreStart = [];
      this.add(start);
    }
    this.send(this.text.length);
    return this.text;
  }

  /**
   * While the answer so far could still become one of the texts to ignore, it waits; then the
   * longest of them that begins it is dropped and the rest is the answer's first text.
   */
  private afterIgnoredStart(generated: string): string {
    this.start += generated;
    const start = this.start;
    if (this.ignoreStart.some((ignored) => ignored.length > start.length && ignored.startsWith(start)))
      return '';
    let dropped = 0;
    for (const ignored of this.ignoreStart) {
      if (ignored.length > dropped && start.startsWith(ignored)) dropped = ignored.length;
    }
    this.ignoreStart = [];
    this.start = '';
    return start.slice(dropped);
  }

  private send(until: number): void {
    if (until <= this.sent) return;
    this.onTextChunk?.(this.text.slice(this.sent, until));
    this.sent = until;
  }

  /** The length of the longest end of the text that begins a stop string. */
  private heldBack(): number {
    let held = 0;
    for (const stop of this.all) {
      for (let length = Math.min(stop.length - 1, this.text.length); length > held; length--) {
        if (this.text.endsWith(stop.slice(0, length))) {
          held = length;
          break;
        }
      }
    }
    return held;
  }
}

function firstIndex(text: string, stops: readonly string[], from: number): number {
  let first = Number.POSITIVE_INFINITY;
  for (const stop of stops) {
    if (stop === '') continue;
    const index = text.indexOf(stop, from);
    if (index !== -1 && index < first) first = index;
  }
  return first;
}
