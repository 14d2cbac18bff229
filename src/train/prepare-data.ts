/**
 * Data preparation: examples → token files, tokenised exactly as the served model will see them.
 *
 * The prompt of each assistant turn is rendered by node-llama-cpp's chat wrapper for the model's
 * GGUF (the chat template in its metadata) and tokenised by llama.cpp's tokenizer of that GGUF: the
 * very tokens the llama_cpp engine evaluates at query time, so a finetuned model answers its
 * training questions when deployed. The answer's tokens plus end-of-sequence are the only targets
 * (loss masked to answers); every assistant turn becomes one example with the history before it.
 * Pretraining texts are tokenised, joined with end-of-sequence and packed into blocks.
 */
import {
  getLlama,
  type LlamaModel,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatHistoryItem,
} from 'node-llama-cpp';
import { InvalidArgumentError } from '../core/index.js';
import type { ChatTurn, TrainingExample } from './data-formats.js';
import type { TokenExample } from './token-file.js';

export interface PreparedData {
  train: TokenExample[];
  evaluation: TokenExample[];
  /** Tokens in the training split (targets included). */
  trainTokens: number;
}

export interface PrepareOptions {
  /** The base model's GGUF: its tokenizer and chat template are used. */
  ggufPath: string;
  examples: readonly TrainingExample[];
  /** Longest example (finetuning; longer ones are cut) or block length (pretraining), in tokens. */
  maxSequenceLength: number;
  /** Share of examples held out for the eval loss, 0 to 0.5. */
  evalRatio: number;
  seed: number;
}

export async function prepareTokenData(options: PrepareOptions): Promise<PreparedData> {
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    logLevel: LlamaLogLevel.error,
    progressLogs: false,
  });
  const model = await llama.loadModel({ modelPath: options.ggufPath, vocabOnly: true });
  try {
    const chats = options.examples.filter((example) => example.kind === 'chat');
    const texts = options.examples.filter((example) => example.kind === 'text');
    if (chats.length && texts.length) {
      throw new InvalidArgumentError('the data mixes conversations and plain text; use one kind per job');
    }
    if (texts.length) {
      // Pretraining holds out blocks, not rows: a corpus is often one file.
      const blocks = split(
        packTexts(model, texts, options.maxSequenceLength),
        options.evalRatio,
        options.seed,
      );
      return { ...blocks, trainTokens: countTokens(blocks.train) };
    }
    // Finetuning holds out whole conversations, so no held-out answer was seen in training.
    const rows = split([...chats], options.evalRatio, options.seed);
    const tokenise = (conversations: TrainingExample[]) =>
      conversations.flatMap((row) =>
        chatExamples(model, (row as TrainingExample & { kind: 'chat' }).messages, options.maxSequenceLength),
      );
    const train = tokenise(rows.train);
    return { train, evaluation: tokenise(rows.evaluation), trainTokens: countTokens(train) };
  } finally {
    await model.dispose();
  }
}

function toHistory(messages: readonly ChatTurn[]): ChatHistoryItem[] {
  return messages.map(
    (message): ChatHistoryItem =>
      message.role === 'system'
        ? { type: 'system', text: message.content }
        : message.role === 'user'
          ? { type: 'user', text: message.content }
          : { type: 'model', response: [message.content] },
  );
}

function chatExamples(model: LlamaModel, messages: readonly ChatTurn[], maxLength: number): TokenExample[] {
  const wrapper = resolveChatWrapper(model);
  const eos = model.tokens.eos;
  const examples: TokenExample[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant') continue;
    const history = [
      ...toHistory(messages.slice(0, index)),
      { type: 'model', response: [] } as ChatHistoryItem,
    ];
    const prompt = wrapper
      .generateContextState({ chatHistory: history })
      .contextText.tokenize(model.tokenizer);
    const answer = [...model.tokenize(message.content, false, 'trimLeadingSpace')];
    if (eos !== null) answer.push(eos);
    const tokens = [...prompt, ...answer].slice(0, maxLength + 1);
    const mask = tokens.map((_, position) => position >= prompt.length);
    if (mask.some(Boolean)) examples.push({ tokens: tokens.map(Number), mask });
  }
  return examples;
}

function packTexts(
  model: LlamaModel,
  rows: ReadonlyArray<TrainingExample & { kind: 'text' }>,
  blockLength: number,
): TokenExample[] {
  const stream: number[] = [];
  const bos = model.tokens.bos;
  const eos = model.tokens.eos;
  for (const row of rows) {
    if (bos !== null && model.tokens.shouldPrependBosToken) stream.push(bos);
    stream.push(...model.tokenize(row.text, false).map(Number));
    if (eos !== null) stream.push(eos);
  }
  const examples: TokenExample[] = [];
  // Blocks of blockLength + 1 (inputs and shifted targets); a short tail is kept if it teaches something.
  for (let start = 0; start < stream.length; start += blockLength) {
    const tokens = stream.slice(start, start + blockLength + 1);
    if (tokens.length < 2) break;
    examples.push({ tokens, mask: tokens.map(() => true) });
  }
  return examples;
}

function countTokens(examples: readonly TokenExample[]): number {
  return examples.reduce((sum, example) => sum + example.tokens.length, 0);
}

function split<T>(items: readonly T[], evalRatio: number, seed: number): { train: T[]; evaluation: T[] } {
  const evalCount = Math.min(Math.floor(items.length / 2), Math.round(items.length * evalRatio));
  const held = new Set(shuffle(items.length, seed).slice(0, evalCount));
  const train = items.filter((_, index) => !held.has(index));
  const evaluation = items.filter((_, index) => held.has(index));
  return { train, evaluation };
}

/** A seeded permutation of 0..count-1 (same data and seed → same split on every machine). */
function shuffle(count: number, seed: number): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  let state = seed >>> 0 || 1;
  for (let index = count - 1; index > 0; index--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const other = (state >>> 0) % (index + 1);
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}
