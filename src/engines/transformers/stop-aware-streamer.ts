/**
 * The streamer handed to transformers.js `generate`: turns generated token ids into text deltas and
 * ends generation at a stop string.
 *
 * `generate` calls `put` with the prompt first and then with each new token, and `end` once. The
 * generated tokens are decoded as a whole each time (a token may be half of a UTF-8 character or a
 * SentencePiece piece whose leading space depends on what came before), and only text that is final
 * leaves: nothing while the text ends in an incomplete character (U+FFFD), and nothing that could
 * still become the start of a stop string. When a stop string appears the text is cut before it and
 * `interrupt` is called, which stops generation at the next step. The deltas concatenate to `text`.
 */
export interface StopAwareStreamerOptions {
  decode: (tokens: bigint[]) => string;
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

  constructor(private readonly options: StopAwareStreamerOptions) {}

  put(value: bigint[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    const token = value[0]?.[0];
    if (token === undefined || this.stopped) return;
    this.tokens.push(token);
    this.update(false);
  }

  end(): void {
    this.update(true);
  }

  private update(final: boolean): void {
    if (this.stopped) return;
    let text = this.options.decode(this.tokens);
    if (!final && text.endsWith('\uFFFD')) return;
    const cut = firstStop(text, this.options.stop);
    if (cut !== undefined) {
      text = text.slice(0, cut);
      this.stopped = true;
      this.options.interrupt();
    }
    const ready = final || this.stopped ? text.length : text.length - heldBack(text, this.options.stop);
    if (ready > this.text.length && text.startsWith(this.text)) {
      this.options.onDelta(text.slice(this.text.length, ready));
      this.text = text.slice(0, ready);
    }
  }
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
