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
 * Prints the ratio round robin ÷ affinity of the TTFT p50 and of the worker CPU per request
 * (utime + stime of the four worker processes, steadier than wall time on a loaded machine), then
 * the absolute numbers.
 *
 *   npx tsc -p . && node dist/bench/affinity.js [--requests 24] [--conversations 4]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createProcessTransport, DeploymentStore, Head } from '../src/cluster/index.js';
import type { ChatMessage, LoadBalanceStrategy } from '../src/core/index.js';
import { createTinyLlamaGguf } from '../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { processCpuMs } from './local-engine/targets.js';

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
    const order = visitOrder();
    const samples = new Map<LoadBalanceStrategy, number[]>(STRATEGIES.map((strategy) => [strategy, []]));
    const cpu = new Map<LoadBalanceStrategy, number>(STRATEGIES.map((strategy) => [strategy, 0]));
    for (const [index, conversation] of order.entries()) {
      const messages: ChatMessage[] = [
        { role: 'system', content: conversations[conversation]! },
        { role: 'user', content: `question number ${index}` },
      ];
      for (const strategy of STRATEGIES) {
        const cpuBefore = workerCpuMs(strategy);
        const ttft = await firstTokenMs(head, strategy, messages);
        if (index < conversationCount) continue; // the cold first visits
        samples.get(strategy)!.push(ttft);
        cpu.set(strategy, cpu.get(strategy)! + workerCpuMs(strategy) - cpuBefore);
      }
    }
    report(samples, cpu, order.length - conversationCount);
  } finally {
    await head.close();
    await fs.rm(directory, { recursive: true, force: true });
  }
}

function report(
  samples: Map<LoadBalanceStrategy, number[]>,
  cpu: Map<LoadBalanceStrategy, number>,
  warm: number,
) {
  const affinity = samples.get('prefix_affinity')!;
  const roundRobin = samples.get('round_robin')!;
  const cpuPerRequest = (strategy: LoadBalanceStrategy) => cpu.get(strategy)! / warm;
  console.log(
    `load average ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}; ${warm} warm requests each`,
  );
  console.log(
    `ratio round_robin / prefix_affinity: TTFT p50 ${(percentile(roundRobin, 0.5) / percentile(affinity, 0.5)).toFixed(2)}x, ` +
      `worker CPU per request ${(cpuPerRequest('round_robin') / cpuPerRequest('prefix_affinity')).toFixed(2)}x`,
  );
  for (const [strategy, values] of samples) {
    console.log(
      `${strategy}: TTFT p50 ${percentile(values, 0.5).toFixed(0)} ms, p95 ${percentile(values, 0.95).toFixed(0)} ms; ` +
        `worker CPU ${cpuPerRequest(strategy).toFixed(0)} ms per request`,
    );
  }
}

await main();
