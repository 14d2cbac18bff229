/**
 * The transformers chat streamer with the tiny llama's real tokenizer (SentencePiece pieces, byte
 * fallback for everything else): token by token, the deltas concatenate to what decoding all the
 * tokens at once gives, also when characters span several byte tokens and around SentencePiece
 * spaces; stop strings cut the text; and the decoding work per token stays bounded however long
 * the answer grows.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { StopAwareStreamer } from '../../../src/engines/transformers/stop-aware-streamer.js';
import { loadTinyLlamaTokenizer } from '../../support/tiny-onnx/tiny-llama-onnx.js';

type Tokenizer = Awaited<ReturnType<typeof loadTinyLlamaTokenizer>>;

/** Byte-fallback pieces `<0x00>`…`<0xFF>` are ids 3…258 in the tiny vocabulary. */
const isByteToken = (token: number) => token >= 3 && token <= 258;

const MULTI_BYTE = "hello 你好, byzer 🦙 model: é ü — the water 水 is hot 🔥\nthe answer isn't it , ok ' s";

/**
 * `text` as SentencePiece with byte fallback spells it: pieces for what the vocabulary has, the
 * UTF-8 bytes of each other character. (transformers.js's Unigram model maps such characters to
 * `<unk>` instead, so they are encoded as `#` and swapped for their byte tokens.)
 */
function spell(tokenizer: Tokenizer, text: string): number[] {
  const characters = [...text];
  const outside = (character: string) => character.codePointAt(0)! > 127 || character === '\n';
  const placeholder = tokenizer.encode('#', { add_special_tokens: false }).at(-1)!;
  const replaced = characters.filter(outside);
  const tokens = tokenizer.encode(characters.map((c) => (outside(c) ? '#' : c)).join(''), {
    add_special_tokens: false,
  });
  return tokens.flatMap((token) =>
    token === placeholder
      ? [...new TextEncoder().encode(replaced.shift()!)].map((byte) => byte + 3)
      : [token],
  );
}

interface Run {
  deltas: string[];
  text: string;
  interrupted: boolean;
  /** Length of every token list handed to decode, in call order. */
  decodedLengths: number[];
}

function stream(tokenizer: Tokenizer, tokens: number[], stop: string[] = []): Run {
  const run: Run = { deltas: [], text: '', interrupted: false, decodedLengths: [] };
  const streamer = new StopAwareStreamer({
    decode: (ids) => {
      run.decodedLengths.push(ids.length);
      return tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    },
    cleanUpSpaces: true,
    stop,
    onDelta: (delta) => run.deltas.push(delta),
    interrupt: () => {
      run.interrupted = true;
    },
  });
  streamer.put([[1n, 42n]]);
  for (const token of tokens) streamer.put([[BigInt(token)]]);
  streamer.end();
  run.text = streamer.text;
  return run;
}

describe('StopAwareStreamer with the tiny llama tokenizer', () => {
  let tokenizer: Tokenizer;
  let tokens: number[];

  before(async () => {
    tokenizer = await loadTinyLlamaTokenizer();
    tokens = spell(tokenizer, MULTI_BYTE);
  });

  test('deltas of multi-byte characters and SentencePiece spaces concatenate to the whole decode', () => {
    assert.ok(tokens.filter(isByteToken).length >= 12, 'the text is spelled partly in byte tokens');
    const whole = tokenizer.decode(tokens, { skip_special_tokens: true });
    assert.equal(whole, MULTI_BYTE.replace(' ,', ',').replace(" n't", "n't").replace(" ' ", "'"));
    const run = stream(tokenizer, tokens);
    assert.equal(run.deltas.join(''), whole);
    assert.equal(run.text, whole);
    for (const delta of run.deltas) assert.ok(!delta.includes('\uFFFD'), `no broken character in ${delta}`);
    assert.ok(
      run.deltas.some((delta) => delta.includes('🦙')),
      'a four-byte character leaves whole, once complete',
    );
    assert.ok(run.deltas.length > 10, `text leaves as it is generated (${run.deltas.length} deltas)`);
  });

  test('every prefix of the tokens streams to its own whole decode (cuts inside characters too)', () => {
    for (let end = 1; end <= tokens.length; end++) {
      const prefix = tokens.slice(0, end);
      assert.equal(
        stream(tokenizer, prefix).deltas.join(''),
        tokenizer.decode(prefix, { skip_special_tokens: true }),
        `first ${end} tokens`,
      );
    }
  });

  test('special tokens inside the answer are skipped without losing the space after them', () => {
    const withSpecial = [...tokens.slice(0, 3), 2, 1, ...tokens.slice(3)];
    assert.equal(
      stream(tokenizer, withSpecial).deltas.join(''),
      tokenizer.decode(withSpecial, { skip_special_tokens: true }),
    );
    const startingSpecial = [2, ...tokens];
    assert.equal(
      stream(tokenizer, startingSpecial).deltas.join(''),
      tokenizer.decode(tokens, { skip_special_tokens: true }),
    );
  });

  test('a multi-byte stop string cuts the text before it and interrupts generation', () => {
    const run = stream(tokenizer, tokens, ['🦙']);
    assert.equal(run.text, 'hello 你好, byzer ');
    assert.equal(run.deltas.join(''), run.text);
    assert.equal(run.interrupted, true);
  });

  test('a stop string spanning tokens never leaves, even in part; a near miss leaves whole', () => {
    const run = stream(tokenizer, tokens, ['水 is hot']);
    assert.equal(run.text, 'hello 你好, byzer 🦙 model: é ü — the water ');
    assert.ok(!run.deltas.some((delta) => delta.includes('水')), 'no part of the stop string was sent');
    const miss = stream(tokenizer, tokens, ['水 is cold']);
    assert.equal(miss.text, tokenizer.decode(tokens, { skip_special_tokens: true }));
    assert.equal(miss.interrupted, false);
  });

  test('decoding work per token is bounded: two small decodes per token whatever the length', () => {
    const short = tokens;
    const long = Array.from({ length: 20 }, () => tokens).flat();
    const shortRun = stream(tokenizer, short);
    const longRun = stream(tokenizer, long);
    assert.equal(longRun.text, tokenizer.decode(long, { skip_special_tokens: true }));
    for (const [run, count] of [
      [shortRun, short.length],
      [longRun, long.length],
    ] as const) {
      assert.ok(run.decodedLengths.length <= 2 * count, `${run.decodedLengths.length} decodes for ${count}`);
      // A window spans at most one character's byte tokens plus the step before it.
      assert.ok(Math.max(...run.decodedLengths) <= 8, `largest window ${Math.max(...run.decodedLengths)}`);
    }
    const perToken = (run: Run, count: number) => run.decodedLengths.reduce((sum, n) => sum + n, 0) / count;
    assert.ok(
      perToken(longRun, long.length) <= perToken(shortRun, short.length) * 1.2,
      'tokens decoded per generated token do not grow with the answer',
    );
  });
});
