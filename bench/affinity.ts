/**
 * bench/affinity: time to first token with prefix affinity vs round robin on llama_cpp.
 *
 * Two deployments of the same generated GGUF (`medium`: n_embd 512, 8 layers, context 4096), each
 * 2 worker processes × 2 sequences (`n_ctx` 8192: 4096 per sequence), one with
 * `load_balance prefix_affinity`, one with `round_robin`. `--conversations` conversations, each
 * with its own 2,000-token system prompt (`--prefix-tokens`), are visited in one seeded random order (the same for
 * both deployments, alternating request by request so that the machine's load hits both alike);
 * every request adds a new question to its conversation's prompt. A request's time to first token
 * is from sending it to its first streamed part. The first visit of each conversation evaluates the
 * whole prompt under either strategy and is left out of the comparison.
 *
 * The baseline is the physical limit, raw node-llama-cpp in this process: the same GGUF, one
 * context with one sequence per conversation (4,096 tokens each, `threads: 1`, as the workers), a
 * `LlamaCompletion` per sequence, the prompt rendered by the model's chat wrapper as the engine
 * renders it. A conversation always returns to its own sequence, which still holds its prefix, so
 * only the new question is evaluated: what affinity at best achieves. It is visited in the same
 * order, request by request with the two deployments.
 *
 * Prints byzerllm with affinity against the raw baseline (TTFT p50 ratio, and CPU per request:
 * the four workers' utime + stime against this process's CPU during the raw request, steadier than
 * wall time on a loaded machine), round robin (without affinity) against affinity, then the
 * absolute numbers.
 *
 *   npx tsc -p . && node dist/bench/affinity.js [--requests 24] [--conversations 4]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LlamaCompletion, type Token } from 'node-llama-cpp';
import { createProcessTransport, DeploymentStore, Head } from '../src/cluster/index.js';
import type { ChatMessage, LoadBalanceStrategy } from '../src/core/index.js';
import { createTinyLlamaGguf } from '../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { loadRawModel, ownCpuMs, processCpuMs, type RawModel } from './local-engine/targets.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '24' },
    conversations: { type: 'string', default: '4' },
    'prefix-tokens': { type: 'string', default: '2000' },
  },
});
const requestCount = Number(values.requests);
const conversationCount = Number(values.conversations);
const prefixTokens = Number(values['prefix-tokens']);
const STRATEGIES: LoadBalanceStrategy[] = ['prefix_affinity', 'round_robin'];
/** The raw baseline's name in the results, beside the two strategies. */
const RAW = 'raw node-llama-cpp';
type Path = LoadBalanceStrategy | typeof RAW;
/** The workers' context per sequence: `n_ctx` 8192 over 2 sequences. */
const SEQUENCE_CONTEXT = 4096;
// The generated model's tokenizer gives one token per character of these words (measured with
// `model.tokenize`), so a prompt of N characters is N tokens.
const WORDS = 'the of and to in is it you that he was for on are with as his they be at one have this'.split(
  ' ',
);

/** A deterministic pseudo-random sequence (mulberry32), so every run visits in the same order. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function systemPrompt(conversation: number): string {
  const next = random(1000 + conversation);
  let text = '';
  while (text.length < prefixTokens) text += `${WORDS[Math.floor(next() * WORDS.length)]} `;
  return text.slice(0, prefixTokens);
}

/** Each conversation once first (cold everywhere), then a seeded random order. */
function visitOrder(): number[] {
  const next = random(7);
  const order = Array.from({ length: conversationCount }, (_, index) => index);
  while (order.length < requestCount) order.push(Math.floor(next() * conversationCount));
  return order;
}

async function firstTokenMs(head: Head, name: string, messages: ChatMessage[]): Promise<number> {
  const started = performance.now();
  let first: number | undefined;
  const parts = await head.stream(name, { messages, maxTokens: 4, temperature: 0 });
  for await (const part of parts) {
    if (first === undefined && (part.type === 'text-delta' || part.type === 'finish'))
      first = performance.now();
    if (part.type === 'error') throw part.error;
  }
  return (first ?? performance.now()) - started;
}

/**
 * The raw baseline: one sequence per conversation in one context, each keeping its conversation's
 * prefix between requests (`LlamaCompletion` evaluates only what follows the tokens it shares with
 * the sequence's history). Answers a request's time to first token.
 */
async function createRawBaseline(raw: RawModel, conversations: number) {
  const context = await raw.model.createContext({
    sequences: conversations,
    contextSize: SEQUENCE_CONTEXT,
    threads: 1,
  });
  const completions = Array.from(
    { length: conversations },
    () => new LlamaCompletion({ contextSequence: context.getSequence() }),
  );
  return {
    async firstTokenMs(conversation: number, messages: ChatMessage[]): Promise<number> {
      const started = performance.now();
      // Rendered per request as the engine renders it: system, user, then the model's turn.
      const tokens: Token[] = raw.wrapper
        .generateContextState({
          chatHistory: [
            { type: 'system', text: messages[0]!.content as string },
            { type: 'user', text: messages[1]!.content as string },
            { type: 'model', response: [] },
          ],
        })
        .contextText.tokenize(raw.model.tokenizer);
      let first: number | undefined;
      await completions[conversation]!.generateCompletion(tokens, {
        maxTokens: 4,
        temperature: 0,
        onTextChunk: () => {
          first ??= performance.now();
        },
      });
      return (first ?? performance.now()) - started;
    },
    close: () => context.dispose(),
  };
}

const percentile = (samples: number[], fraction: number) => {
  const sorted = [...samples].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-affinity-'));
  const modelPath = path.join(directory, 'medium.gguf');
  await fs.writeFile(
    modelPath,
    createTinyLlamaGguf({ embeddingLength: 512, layers: 8, contextLength: 4096 }),
  );
  const head = new Head({
    store: new DeploymentStore(path.join(directory, 'state')),
    transport: createProcessTransport(),
    resources: { cpus: 8, memoryBytes: 2 ** 34, gpus: [] },
  });
  try {
    const pids = new Map<LoadBalanceStrategy, number[]>();
    for (const strategy of STRATEGIES) {
      await head.deploy({
        name: strategy,
        pretrainedModelType: 'custom/auto',
        inferBackend: 'llama_cpp',
        modelPath,
        numWorkers: 2,
        workerConcurrency: 2,
        loadBalance: strategy,
        inferParams: { n_ctx: '8192' },
      });
      const info = (await head.list()).find((deployment) => deployment.name === strategy);
      pids.set(
        strategy,
        (info?.workers ?? []).flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid])),
      );
    }
    const workerCpuMs = (strategy: LoadBalanceStrategy) =>
      (pids.get(strategy) ?? []).reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const conversations = Array.from({ length: conversationCount }, (_, index) => systemPrompt(index));
    const raw = await createRawBaseline(await loadRawModel(modelPath), conversationCount);
    const paths: Path[] = [RAW, ...STRATEGIES];
    const order = visitOrder();
    const samples = new Map<Path, number[]>(paths.map((name) => [name, []]));
    const cpu = new Map<Path, number>(paths.map((name) => [name, 0]));
    for (const [index, conversation] of order.entries()) {
      const messages: ChatMessage[] = [
        { role: 'system', content: conversations[conversation]! },
        { role: 'user', content: `question number ${index}` },
      ];
      for (const name of paths) {
        const cpuOf = () => (name === RAW ? ownCpuMs() : workerCpuMs(name));
        const cpuBefore = cpuOf();
        const ttft =
          name === RAW
            ? await raw.firstTokenMs(conversation, messages)
            : await firstTokenMs(head, name, messages);
        if (index < conversationCount) continue; // the cold first visits
        samples.get(name)!.push(ttft);
        cpu.set(name, cpu.get(name)! + cpuOf() - cpuBefore);
      }
    }
    await raw.close();
    report(samples, cpu, order.length - conversationCount);
  } finally {
    await head.close();
    await fs.rm(directory, { recursive: true, force: true });
  }
}

function report(samples: Map<Path, number[]>, cpu: Map<Path, number>, warm: number) {
  const p50 = (name: Path) => percentile(samples.get(name)!, 0.5);
  const cpuPerRequest = (name: Path) => cpu.get(name)! / warm;
  console.log(
    `load average ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}; ${warm} warm requests each`,
  );
  console.log(
    `ratio prefix_affinity / raw node-llama-cpp (the baseline): TTFT p50 ${(p50('prefix_affinity') / p50(RAW)).toFixed(2)}x, ` +
      `CPU per request ${(cpuPerRequest('prefix_affinity') / cpuPerRequest(RAW)).toFixed(2)}x`,
  );
  console.log(
    `ratio round_robin / prefix_affinity (without / with affinity): TTFT p50 ${(p50('round_robin') / p50('prefix_affinity')).toFixed(2)}x, ` +
      `CPU per request ${(cpuPerRequest('round_robin') / cpuPerRequest('prefix_affinity')).toFixed(2)}x`,
  );
  for (const [name, values] of samples) {
    console.log(
      `${name}: TTFT p50 ${percentile(values, 0.5).toFixed(0)} ms, p95 ${percentile(values, 0.95).toFixed(0)} ms; ` +
        `${name === RAW ? 'process' : 'worker'} CPU ${cpuPerRequest(name).toFixed(1)} ms per request`,
    );
  }
}

await main();
