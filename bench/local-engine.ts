/**
 * bench/local-engine: the same GGUF through node-llama-cpp directly vs through byzerllm (head admin
 * API → worker process → llama_cpp engine), at 1 and 4 concurrent streaming requests.
 *
 * Both sides use one context with `concurrency` sequences and `threads: 1`, greedy decoding and the
 * same prompts and `maxTokens`; rounds alternate direct / byzerllm so machine noise hits both. Prints
 * tokens/s, mean time to first token and the throughput ratio (byzerllm / direct, median of the
 * paired rounds).
 *
 *   npx tsc -p . && node dist/bench/local-engine.js [--model small|medium] [--requests 16] [--rounds 3]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaChat, LlamaLogLevel } from 'node-llama-cpp';
import { connectLocalHead, type HeadClient } from '../src/cluster/index.js';
import { createTinyLlamaGguf } from '../src/engines/llama-cpp/tiny-model/tiny-llama.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'medium' },
    requests: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '64' },
  },
});
const requestsPerRun = Number(values.requests);
const rounds = Number(values.rounds);
const maxTokens = Number(values['max-tokens']);
const prompts = Array.from(
  { length: requestsPerRun },
  (_, index) => `tell me about the water number ${index}`,
);

interface RunResult {
  tokens: number;
  seconds: number;
  firstTokenMs: number[];
}

async function runAll(
  concurrency: number,
  one: (prompt: string) => Promise<{ tokens: number; firstTokenMs: number }>,
): Promise<RunResult> {
  const started = performance.now();
  const firstTokenMs: number[] = [];
  let tokens = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prompts.length) {
        const result = await one(prompts[next++]!);
        tokens += result.tokens;
        firstTokenMs.push(result.firstTokenMs);
      }
    }),
  );
  return { tokens, seconds: (performance.now() - started) / 1000, firstTokenMs };
}

async function direct(modelPath: string, concurrency: number) {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({
    sequences: concurrency,
    contextSize: Math.min(2048 * concurrency, model.trainContextSize * concurrency),
    threads: 1,
  });
  const free = Array.from({ length: concurrency }, () => context.getSequence());
  const run = () =>
    runAll(concurrency, async (prompt) => {
      const sequence = free.pop()!;
      const started = performance.now();
      let firstTokenMs = 0;
      const before = sequence.tokenMeter.getState().usedOutputTokens;
      const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      await chat.generateResponse([{ type: 'user', text: prompt }], {
        maxTokens,
        onTextChunk: () => {
          firstTokenMs ||= performance.now() - started;
        },
      });
      chat.dispose({ disposeSequence: false });
      const tokens = sequence.tokenMeter.getState().usedOutputTokens - before;
      await sequence.clearHistory();
      free.push(sequence);
      return { tokens, firstTokenMs };
    });
  return {
    run,
    close: async () => {
      await context.dispose();
      await model.dispose();
    },
  };
}

async function viaByzerllm(cluster: HeadClient, modelPath: string, concurrency: number) {
  const name = `bench_c${concurrency}`;
  await cluster.deploy({
    name,
    pretrainedModelType: 'custom/auto',
    inferBackend: 'llama_cpp',
    modelPath,
    numWorkers: 1,
    workerConcurrency: concurrency,
  });
  const run = () =>
    runAll(concurrency, async (prompt) => {
      const started = performance.now();
      let firstTokenMs = 0;
      let tokens = 0;
      const parts = await cluster.stream(name, { messages: [{ role: 'user', content: prompt }], maxTokens });
      for await (const part of parts) {
        if (part.type === 'text-delta') firstTokenMs ||= performance.now() - started;
        if (part.type === 'finish') tokens = part.usage.outputTokens;
        if (part.type === 'error') throw part.error;
      }
      return { tokens, firstTokenMs };
    });
  return { run, close: async () => void (await cluster.undeploy(name)) };
}

const mean = (numbers: number[]) => numbers.reduce((sum, value) => sum + value, 0) / numbers.length;

async function main(): Promise<void> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-'));
  const modelPath = path.join(home, `${values.model}.gguf`);
  const sizes = values.model === 'small' ? {} : { embeddingLength: 512, layers: 8 };
  await fs.writeFile(modelPath, createTinyLlamaGguf(sizes));
  process.env.BYZERLLM_HOME = home;
  const cluster = await connectLocalHead({ stateDirectory: home });
  const rows: string[][] = [];
  try {
    for (const concurrency of [1, 4]) {
      const left = await direct(modelPath, concurrency);
      const right = await viaByzerllm(cluster, modelPath, concurrency);
      await left.run(); // warm-up of both sides
      await right.run();
      const directRuns: RunResult[] = [];
      const byzerRuns: RunResult[] = [];
      for (let round = 0; round < rounds; round++) {
        directRuns.push(await left.run());
        byzerRuns.push(await right.run());
      }
      await left.close();
      await right.close();
      const rate = (runs: RunResult[]) => mean(runs.map((run) => run.tokens / run.seconds));
      const ttft = (runs: RunResult[]) => mean(runs.flatMap((run) => run.firstTokenMs));
      const directRate = rate(directRuns);
      const byzerRate = rate(byzerRuns);
      // Paired ratios (each byzerllm round against the direct round just before it), median: load
      // from other processes drifts over a run and hits neighbouring rounds alike.
      const pairedRatios = byzerRuns
        .map(
          (run, index) => run.tokens / run.seconds / (directRuns[index]!.tokens / directRuns[index]!.seconds),
        )
        .sort((left, right) => left - right);
      const medianRatio = pairedRatios[Math.floor(pairedRatios.length / 2)]!;
      rows.push([
        String(concurrency),
        directRate.toFixed(0),
        byzerRate.toFixed(0),
        medianRatio.toFixed(3),
        ttft(directRuns).toFixed(1),
        ttft(byzerRuns).toFixed(1),
      ]);
    }
  } finally {
    await cluster.shutdown().catch(() => {});
    await cluster.close();
  }
  const header = [
    'concurrency',
    'direct tok/s',
    'byzerllm tok/s',
    'ratio (median of rounds)',
    'direct TTFT ms',
    'byzerllm TTFT ms',
  ];
  console.log(
    `model: ${values.model} (${(await fs.stat(modelPath)).size} bytes), ${requestsPerRun} requests x ${maxTokens} tokens, ${rounds} rounds`,
  );
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  await fs.rm(home, { recursive: true, force: true });
}

await main();
