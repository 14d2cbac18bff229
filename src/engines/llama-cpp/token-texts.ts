/**
 * What the plain generation path asks of the model for every generated token, remembered per
 * loaded model: whether a token ends generation, and its text where it continues text.
 *
 * Both are native calls through node-llama-cpp (the text two detokenizations: the last tokens, then
 * the last tokens with the new one) and together were about a tenth of a worker's CPU per token on
 * the tiny GGUF. A vocabulary is fixed once the model is loaded. A token's text after text that is
 * not empty is its piece as written (the detokenizer strips a leading space only at the start of
 * text), so it is remembered only in that position and only when it is whole (a byte token of a
 * longer UTF-8 character is not).
 */
import type { LlamaModel, Token } from 'node-llama-cpp';

interface ModelTokens {
  endsGeneration: Map<Token, boolean>;
  continuation: Map<Token, string>;
}

const byModel = new WeakMap<LlamaModel, ModelTokens>();
const INCOMPLETE_CHARACTER = '\uFFFD';

export class TokenTexts {
  private readonly remembered: ModelTokens;

  constructor(private readonly model: LlamaModel) {
    let remembered = byModel.get(model);
    if (!remembered) {
      remembered = { endsGeneration: new Map(), continuation: new Map() };
      byModel.set(model, remembered);
    }
    this.remembered = remembered;
  }

  /** `model.isEogToken(token)`. */
  endsGeneration(token: Token): boolean {
    let ends = this.remembered.endsGeneration.get(token);
    if (ends === undefined) {
      ends = this.model.isEogToken(token);
      this.remembered.endsGeneration.set(token, ends);
    }
    return ends;
  }

  /**
   * `model.detokenize(tokens, false, lastTokens)`; `afterText` says that the text generated before
   * `tokens` is not empty.
   */
  textOf(tokens: readonly Token[], lastTokens: readonly Token[], afterText: boolean): string {
    const single = tokens.length === 1 && afterText ? tokens[0]! : undefined;
    if (single !== undefined) {
      const known = this.remembered.continuation.get(single);
      if (known !== undefined) return known;
    }
    const text = this.model.detokenize(tokens, false, lastTokens);
    if (single !== undefined && !text.includes(INCOMPLETE_CHARACTER)) {
      this.remembered.continuation.set(single, text);
    }
    return text;
  }
}
