/**
 * A request that reuses a sequence must erase what the sequence holds beyond its prompt's prefix,
 * under node-llama-cpp's context lock, which the batch dispatch loop keeps while other sequences
 * generate. `SequencePool` makes plain generation pause for such an erase, so that a request
 * arriving while another decodes starts within a batch or two instead of after the other request's
 * whole answer. Asserted on the order of stream events, not on time. Runs on the generated tiny GGUF.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getLlama, type Llama, type LlamaContext, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import type { ChatRequest } from '../../src/core/index.js';
import { resolveModelChatWrapper } from '../../src/engines/llama-cpp/chat-wrapper.js';
import { LlamaCppChatModel } from '../../src/engines/llama-cpp/llama-cpp-chat-model.js';
import { SequencePool } from '../../src/engines/llama-cpp/sequence-pool.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;
let pool: SequencePool;
let engine: LlamaCppChatModel;

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-llama-erase-'));
  const modelPath = (await ensureTinyLlamaModel(directory)).path;
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  context = await model.createContext({ sequences: 3, contextSize: 2048, threads: 1 });
  pool = new SequencePool(context);
  engine = new LlamaCppChatModel({
    modelId: 'tiny',
    llama,
    sequences: pool,
    chatWrapper: resolveModelChatWrapper('auto', model),
    defaultMaxTokens: 48,
    streamIntervalMs: 0,
  });
});

after(async () => {
  await context?.dispose();
  await model?.dispose();
  await fs.rm(directory, { recursive: true, force: true });
});

const request = (content: string, maxTokens: number): ChatRequest => ({
  messages: [{ role: 'user', content }],
  maxTokens,
  temperature: 0,
});

/** Streams `chatRequest`, logging `name:first` at its first text and `name:finish` at its finish. */
async function run(name: string, chatRequest: ChatRequest, events: string[], onFirst?: () => void) {
  let text = '';
  let finishReason: string | undefined;
  for await (const part of await engine.doStream(chatRequest)) {
    if (part.type === 'text-delta') {
      if (text === '') {
        events.push(`${name}:first`);
        onFirst?.();
      }
      text += part.delta;
    } else if (part.type === 'finish') {
      finishReason = part.finishReason;
      events.push(`${name}:finish`);
    } else if (part.type === 'error') {
      throw part.error;
    }
  }
  return { text, finishReason };
}

test('a request needing an erase starts while other requests on the context are still generating', async () => {
  const longs = [
    request('tell me about the water number 1', 96),
    request('tell me about the water number 3', 96),
  ];
  const short = request('tell me about the water number 2', 8);
  // Every sequence holds an earlier answer, so the short request must erase before it evaluates.
  const alone = [await run('warm-1', longs[0]!, []), await run('warm-3', longs[1]!, [])];
  await run('warm-2', short, []);
  for (const answer of alone) assert.equal(answer.finishReason, 'length', 'a long answer runs to max_tokens');

  const events: string[] = [];
  let shortRun: Promise<{ text: string; finishReason: string | undefined }> | undefined;
  const together = await Promise.all([
    run('long-1', longs[0]!, events, () => {
      shortRun = run('short', short, events);
    }),
    run('long-3', longs[1]!, events),
  ]);
  const shortResult = await shortRun!;
  const shortFinish = events.indexOf('short:finish');
  assert.ok(
    shortFinish >= 0 &&
      shortFinish < events.indexOf('long-1:finish') &&
      shortFinish < events.indexOf('long-3:finish'),
    `the short request ran beside the long ones, not after their 96 tokens: ${events.join(', ')}`,
  );
  assert.deepEqual(
    together.map((answer) => answer.text),
    alone.map((answer) => answer.text),
    'pausing for the erase leaves the long answers unchanged',
  );
  assert.equal(shortResult.finishReason, 'length');
});

test('generation pauses only while an erase is in flight and no LlamaChat generation runs', async () => {
  assert.equal(pool.pauseForErase(), undefined, 'nothing to wait for when no erase is in flight');
  const sequence = await pool.acquire();
  try {
    assert.ok(sequence.nextTokenIndex > 0, "the sequence holds the earlier test's tokens");
    const tokens = model.tokenize('a fresh prompt for the held sequence');
    const erase = pool.prepare(sequence, tokens);
    const paused = pool.pauseForErase();
    assert.ok(paused instanceof Promise, 'an erase in flight makes generation wait');
    const chatEnded = pool.chatStarted();
    assert.equal(pool.pauseForErase(), undefined, 'a LlamaChat generation on the context: no pause');
    let resumed = false;
    void paused.then(() => {
      resumed = true;
    });
    await Promise.resolve();
    assert.ok(resumed, 'a LlamaChat start releases generation already paused');
    chatEnded();
    const input = await erase;
    assert.equal(pool.pauseForErase(), undefined, 'the erase finished');
    assert.ok(input.length >= 1 && input.length <= tokens.length);
    assert.deepEqual(
      input,
      tokens.slice(tokens.length - input.length),
      'the tokens still to evaluate end the prompt',
    );
  } finally {
    pool.release(sequence);
  }
});
