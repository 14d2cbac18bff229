/**
 * The streamer handed to transformers.js `generate`: turns generated token ids into text deltas and
 * ends generation at a stop string.
 *
 * `generate` calls `put` with the prompt first and then with each new token, and `end` once.
 *
 * Decoding is incremental, so a token costs the same however long the answer is: only a short
 * window at the end of the tokens is decoded, the way Hugging Face's text-generation-inference
 * does it. The window starts one step back (the tokens whose text was released last) so that what
 * depends on the previous token decodes as it does in the whole sequence, such as a SentencePiece
 * piece's leading space (`▁the` is " the" after a word, "the" at the start). The new text is the
 * window's text minus the text of its first part. While the window
 * ends in an incomplete UTF-8 character (byte-fallback tokens decode to U+FFFD until the character
 * is whole) nothing is released and the window grows, to at most the character's 4 bytes in
 * practice. At most two decodes per token; the concatenated text equals decoding every token at once.
 *
 * Tokenizers that clean up tokenization spaces (" ," → ",", " n't" → "n't") do so across token
 * boundaries, which a window cannot see: `decode` leaves them alone and the streamer applies the
 * same rules to the text it releases, holding back a tail that a later token could still change
 * (a trailing " ", " '", " n").
 *
 * Nothing that could still become the start of a stop string leaves either. When a stop string
 * appears the text is cut before it and `interrupt` is called, which stops generation at the next
 * step. The deltas concatenate to `text`.
 */
export interface StopAwareStreamerOptions {
  /** Decodes tokens, special tokens skipped and without cleaning up tokenization spaces. */
  decode: (tokens: bigint[]) => string;
  /**
   * Clean up tokenization spaces as Hugging Face tokenizers do when `clean_up_tokenization_spaces`
   * is on (transformers.js's default when `tokenizer_config.json` does not say). Defaults to false.
   */
  cleanUpSpaces?: boolean;
  stop: readonly string[];
  onDelta: (delta: string) => void;
  interrupt: () => void;
}

export class StopAwareStreamer {
  /** Generated tokens (the prompt excluded). */
  readonly tokens: bigint[] = [];
  /** The text sent so far; after `end`, the whole answer. */
  text = '';
  /** True once a stop string was found. */
  stopped = false;
  private promptSeen = false;
  /** Decoded text not sent yet: a possible start of a stop string (shorter than the longest stop). */
  private pending = '';
  /** Decoded text not yet cleaned up: a tail that a later token could change (`cleanUpSpaces`). */
  private uncleaned = '';
  /** `tokens[windowStart, windowTextEnd)` is the window's first part, whose text has been taken. */
  private windowStart = 0;
  private windowTextEnd = 0;
  /** Length of the text decoded so far (before clean-up and stop strings). */
  private decoded = 0;

  constructor(private readonly options: StopAwareStreamerOptions) {}

  put(value: bigint[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    const token = value[0]?.[0];
    if (token === undefined || this.stopped) return;
    this.tokens.push(token);
    this.release(this.decodeNew(false), false);
  }

  end(): void {
    if (this.stopped) return;
    this.release(this.decodeNew(true), true);
  }

  /** The text the tokens since the last call add, or '' while it may still change. */
  private decodeNew(final: boolean): string {
    if (this.windowTextEnd === this.tokens.length) return '';
    const decode = this.options.decode;
    const known =
      this.windowTextEnd === this.windowStart
        ? ''
        : decode(this.tokens.slice(this.windowStart, this.windowTextEnd));
    const whole = decode(this.tokens.slice(this.windowStart));
    if (!final && (whole.length <= known.length || whole.endsWith('\uFFFD'))) return '';
    this.windowStart = this.windowTextEnd;
    this.windowTextEnd = this.tokens.length;
    // A decoder that rewrote the window's first part (none of the common ones do): what the whole
    // answer decodes to says what is new, at the cost of one full decode this once.
    const added = whole.startsWith(known)
      ? whole.slice(known.length)
      : decode(this.tokens).slice(this.decoded);
    this.decoded += added.length;
    return added;
  }

  private release(decoded: string, final: boolean): void {
    const added = this.cleanUp(decoded, final);
    let text = this.pending + added;
    // Sent text never holds the start of a stop string (that part waits in `pending`), so a stop
    // string can only begin inside `text`.
    const cut = firstStop(text, this.options.stop);
    if (cut !== undefined) {
      text = text.slice(0, cut);
      this.stopped = true;
      this.options.interrupt();
    }
    const ready = final || this.stopped ? text.length : text.length - heldBack(text, this.options.stop);
    if (ready > 0) {
      this.options.onDelta(text.slice(0, ready));
      this.text += text.slice(0, ready);
    }
    this.pending = text.slice(ready);
  }

  /** Cleans up the text that no later token can change; holds back the rest. */
  private cleanUp(decoded: string, final: boolean): string {
    if (!this.options.cleanUpSpaces) return decoded;
    const text = this.uncleaned + decoded;
    const ready = final ? text.length : cleanUpEnd(text);
    this.uncleaned = text.slice(ready);
    return cleanUpTokenizationSpaces(text.slice(0, ready));
  }
}

/**
 * Hugging Face's `clean_up_tokenization` (transformers, and transformers.js's tokenizers), rule for
 * rule and in the same order. Every pattern starts with a space and a replacement only removes
 * spaces, so cleaning two pieces apart gives the text cleaned whole as long as no pattern spans
 * the cut and the first piece does not end in the start of one (`cleanUpEnd`).
 */
const CLEAN_UP_RULES: readonly (readonly [string, string])[] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];
const CLEAN_UP_PATTERNS = CLEAN_UP_RULES.map(([pattern]) => pattern);

function cleanUpTokenizationSpaces(text: string): string {
  let cleaned = text;
  for (const [pattern, replacement] of CLEAN_UP_RULES) cleaned = cleaned.replaceAll(pattern, replacement);
  return cleaned;
}

/**
 * Where text can be cleaned up apart from what follows: before a tail that could start a pattern,
 * and not inside a pattern already there (`" ' "` ends in a space, the start of other patterns).
 */
function cleanUpEnd(text: string): number {
  let end = text.length - heldBack(text, CLEAN_UP_PATTERNS);
  for (let moved = true; moved; ) {
    moved = false;
    for (const pattern of CLEAN_UP_PATTERNS) {
      const start = end > 0 ? text.lastIndexOf(pattern, end - 1) : -1;
      if (start >= 0 && start < end && start + pattern.length > end) {
        end = start;
        moved = true;
      }
    }
  }
  return end;
}

function firstStop(text: string, stop: readonly string[]): number | undefined {
  let first: number | undefined;
  for (const candidate of stop) {
    if (candidate === '') continue;
    const index = text.indexOf(candidate);
    if (index >= 0 && (first === undefined || index < first)) first = index;
  }
  return first;
}

/** How many characters at the end of `text` could be the start of a stop string. */
function heldBack(text: string, stop: readonly string[]): number {
  let longest = 0;
  for (const candidate of stop) {
    for (let length = Math.min(candidate.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(candidate.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}
