/**
 * The three ways bench/local-engine reaches the same GGUF, and the load loop they share.
 *
 * - `raw`: node-llama-cpp alone in the benchmark process — the physical limit. One context with
 *   `concurrency` sequences, `threads: 1`, the prompt formatted once up front with the model's own
 *   chat wrapper and evaluated by a `LlamaCompletion` per sequence.
 * - `cli`: byzerllm's CLI path — the head's admin API (`HeadClient.stream`, NDJSON) → the worker
 *   process → the llama_cpp engine.
 * - `gateway`: the OpenAI-compatible gateway in the head process (`byzerllm serve`), streamed SSE.
 *
 * Every target answers one prompt with the number of generated tokens and the time from sending
 * the request to the first generated text.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import {
  type ChatWrapper,
  getLlama,
  LlamaCompletion,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { Pool } from 'undici';
import type { HeadClient } from '../../src/cluster/index.js';

export interface Answer {
  tokens: number;
  firstTokenMs: number;
}

export interface Target {
  answer(prompt: string, index: number): Promise<Answer>;
  close(): Promise<void>;
}

export interface RunResult {
  tokens: number;
  seconds: number;
  /** CPU milliseconds the run cost in the processes `cpuMs` was given (all their threads). */
  cpuMs: number;
  firstTokenMs: number[];
}

/**
 * Sends `prompts` with `concurrency` in flight. The first `concurrency` requests start in the same
 * tick, so requests that arrive together can be evaluated in one batch.
 */
export async function runPrompts(
  target: Target,
  prompts: string[],
  concurrency: number,
  cpuMs: () => number = ownCpuMs,
): Promise<RunResult> {
  const cpuBefore = cpuMs();
  const started = performance.now();
  const firstTokenMs: number[] = [];
  let tokens = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prompts.length) {
        const index = next++;
        const result = await target.answer(prompts[index]!, index);
        tokens += result.tokens;
        firstTokenMs.push(result.firstTokenMs);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { tokens, seconds, firstTokenMs, cpuMs: cpuMs() - cpuBefore };
}

/** CPU milliseconds of this process so far, all threads (node-llama-cpp decodes on its own). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * CPU milliseconds of another process so far (Linux `/proc/PID/stat` utime + stime, in clock ticks
 * of 10 ms: sum over several runs before dividing).
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface RawModel {
  model: LlamaModel;
  wrapper: ChatWrapper;
}

/** Loads the GGUF once for all raw targets, with the wrapper the engine resolves for `template=auto`. */
export async function loadRawModel(modelPath: string): Promise<RawModel> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  return { model, wrapper: resolveChatWrapper(model) };
}

export async function createRawTarget(options: {
  raw: RawModel;
  concurrency: number;
  maxTokens: number;
  prompts: string[];
}): Promise<Target> {
  const { model, wrapper } = options.raw;
  const context = await model.createContext({
    sequences: options.concurrency,
    // Per sequence, as the engine sets it (node-llama-cpp gives every sequence its own cells).
    contextSize: Math.min(2048, model.trainContextSize),
    threads: 1,
  });
  // The engine's wrapper: the same prompt tokens.
  const promptTokens: Token[][] = options.prompts.map((prompt) =>
    wrapper
      .generateContextState({
        chatHistory: [
          { type: 'user', text: prompt },
          { type: 'model', response: [] },
        ],
      })
      .contextText.tokenize(model.tokenizer),
  );
  const free = Array.from({ length: options.concurrency }, () => {
    const sequence = context.getSequence();
    return { sequence, completion: new LlamaCompletion({ contextSequence: sequence }) };
  });
  return {
    async answer(_prompt, index) {
      const slot = free.pop()!;
      const { sequence, completion } = slot;
      const before = sequence.tokenMeter.getState().usedOutputTokens;
      const started = performance.now();
      let firstTokenMs = 0;
      await completion.generateCompletion(promptTokens[index]!, {
        maxTokens: options.maxTokens,
        temperature: 0,
        onTextChunk: () => {
          firstTokenMs ||= performance.now() - started;
        },
      });
      const tokens = sequence.tokenMeter.getState().usedOutputTokens - before;
      // As the engine does: every request starts on an empty sequence.
      await sequence.clearHistory();
      free.push(slot);
      return { tokens, firstTokenMs };
    },
    close: () => context.dispose(),
  };
}

/** Counts the text parts (CLI) or content chunks (gateway) a target received, when given. */
export interface PartCounter {
  count: number;
}

export function createCliTarget(
  cluster: HeadClient,
  deployment: string,
  maxTokens: number,
  parts: PartCounter = { count: 0 },
): Target {
  return {
    async answer(prompt) {
      const started = performance.now();
      let firstTokenMs = 0;
      let tokens = 0;
      const stream = await cluster.stream(deployment, {
        messages: [{ role: 'user', content: prompt }],
        maxTokens,
        temperature: 0,
      });
      for await (const part of stream) {
        if (part.type === 'text-delta') {
          firstTokenMs ||= performance.now() - started;
          parts.count++;
        }
        if (part.type === 'finish') tokens = part.usage.outputTokens;
        if (part.type === 'error') throw part.error;
      }
      return { tokens, firstTokenMs };
    },
    close: async () => {},
  };
}

interface ChunkShape {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { completion_tokens?: number } | null;
}

export function createGatewayTarget(
  origin: string,
  deployment: string,
  maxTokens: number,
  parts: PartCounter = { count: 0 },
): Target {
  const pool = new Pool(origin, { connections: 16 });
  return {
    async answer(prompt) {
      const started = performance.now();
      let firstTokenMs = 0;
      let tokens = 0;
      const response = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: deployment,
          messages: [{ role: 'user', content: prompt }],
          max_tokens: maxTokens,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        }),
      });
      if (response.statusCode !== 200) {
        throw new Error(`gateway answered ${response.statusCode}: ${await response.body.text()}`);
      }
      let buffered = '';
      for await (const chunk of response.body) {
        buffered += chunk.toString();
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
          if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
          const data = JSON.parse(event.slice('data: '.length)) as ChunkShape;
          if (data.choices?.[0]?.delta?.content) {
            firstTokenMs ||= performance.now() - started;
            parts.count++;
          }
          if (data.usage?.completion_tokens !== undefined) tokens = data.usage.completion_tokens;
        }
      }
      return { tokens, firstTokenMs };
    },
    close: () => pool.close(),
  };
}

/** Resident set size of a process in MiB (Linux `/proc`). */
export async function residentMiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return kilobytes / 1024;
}
