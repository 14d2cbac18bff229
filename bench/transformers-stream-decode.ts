/**
 * Streamed decoding for custom/auto on the transformers backend (`StopAwareStreamer`): CPU time per
 * generated token against a raw baseline, one `decode([token])` per token (the least any streamer
 * does, and wrong across characters and SentencePiece spaces), and against decoding the whole
 * answer again each token (what the streamer did before it decoded a window). Answers of 256,
 * 1,024 and 4,096 tokens of the tiny llama's tokenizer (English words, Chinese and emoji in byte
 * tokens), rounds interleaved so load from other work falls on every variant; `process.cpuUsage`.
 *
 *   npx tsc -p . && node dist/bench/transformers-stream-decode.js [rounds, default 5]
 */
import { StopAwareStreamer } from '../src/engines/transformers/stop-aware-streamer.js';
import { loadTinyLlamaTokenizer } from '../test/support/tiny-onnx/tiny-llama-onnx.js';
import { cpuMicroseconds, median } from './process-cpu.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const tokenizer = await loadTinyLlamaTokenizer();
const decode = (tokens: bigint[]) =>
  tokenizer.decode(tokens, { skip_special_tokens: true, clean_up_tokenization_spaces: false });

/** The tiny vocabulary's words, with 你好 and 🦙 as byte tokens (ids 3 + byte) between them. */
function answer(length: number): bigint[] {
  const words = tokenizer.encode('the water is hot and the model said hello to the llama', {
    add_special_tokens: false,
  });
  const bytes = [...new TextEncoder().encode('你好🦙')].map((byte) => byte + 3);
  const tokens: number[] = [];
  while (tokens.length < length) tokens.push(...words, ...bytes);
  return tokens.slice(0, length).map(BigInt);
}

function streamed(tokens: bigint[]): number {
  let length = 0;
  const streamer = new StopAwareStreamer({
    decode,
    cleanUpSpaces: true,
    stop: ['</answer>'],
    onDelta: (delta) => {
      length += delta.length;
    },
    interrupt: () => {},
  });
  streamer.put([[1n]]);
  for (const token of tokens) streamer.put([[token]]);
  streamer.end();
  return length;
}

function wholeEachToken(tokens: bigint[]): number {
  let text = '';
  for (let end = 1; end <= tokens.length; end++) text = decode(tokens.slice(0, end));
  return text.length;
}

function rawPerToken(tokens: bigint[]): number {
  let length = 0;
  for (const token of tokens) length += decode([token]).length;
  return length;
}

const variants = { raw: rawPerToken, streamer: streamed, whole: wholeEachToken };

for (const length of [256, 1024, 4096]) {
  const tokens = answer(length);
  const timings: Record<keyof typeof variants, number[]> = { raw: [], streamer: [], whole: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants) as [keyof typeof variants, typeof streamed][]) {
      timings[name].push(cpuMicroseconds(() => run(tokens)) / length);
    }
  }
  const raw = median(timings.raw);
  const row = (name: keyof typeof variants) =>
    `${median(timings[name]).toFixed(1)} µs (${(median(timings[name]) / raw).toFixed(2)}×)`;
  console.log(
    `${length} tokens: raw ${raw.toFixed(1)} µs/token, streamer ${row('streamer')}, whole each token ${row('whole')}`,
  );
}
