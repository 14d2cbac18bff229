import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type ChatRequest, InvalidArgumentError, type StreamPart, TEMPLATE_NAMES } from '../../core/index.js';
import { printArgumentsBanner, mergeConfigFile } from '../arguments.js';
import { chosenAddress, connect } from '../connect.js';
import { addAddressOptions } from '../options.js';

interface QueryFlags {
  model?: string;
  query?: string;
  template?: string;
  output_file?: string;
  stream?: boolean;
  json?: boolean;
  address?: string;
  ray_address?: string;
  file?: string;
}

/** The keys a `--file` config may set: the command's own flags, snake_case as on the command line. */
const CONFIG_KEYS = ['model', 'query', 'template', 'output_file', 'stream', 'address', 'ray_address'];

export function registerQuery(program: Command): void {
  const command = program
    .command('query')
    .description('send one user message to a deployment and print the answer')
    .option('--model <name>', 'the deployment to ask (required)')
    .option('--query <text>', 'the user message; - (or no --query with piped input) reads it from stdin')
    .option('--template <name>', `chat template: ${TEMPLATE_NAMES.join(', ')}`, 'auto')
    .option('--output_file <path>', 'write the answer to a file; .mp3/.wav answers are decoded from base64')
    .option('--stream', 'print the answer as it is generated', false)
    .option(
      '--json',
      'print {"model","text","finish_reason","usage","request_id"}; with --stream one JSON line per piece',
      false,
    );
  addAddressOptions(command).action(async (flags: QueryFlags) => {
    const merged: QueryFlags = await mergeConfigFile(flags, CONFIG_KEYS);
    printArgumentsBanner({ ...merged, address: chosenAddress(merged) });
    if (!merged.model) throw new InvalidArgumentError('missing --model: the deployment to ask');
    const query = await resolveQuery(merged.query);
    if (query === undefined) {
      throw new InvalidArgumentError('missing --query: the message to send (or - to read it from stdin)');
    }
    const template = merged.template ?? 'auto';
    if (!(TEMPLATE_NAMES as readonly string[]).includes(template)) {
      throw new InvalidArgumentError(
        `unknown --template ${JSON.stringify(template)}; allowed: ${TEMPLATE_NAMES.join(', ')}`,
      );
    }
    const request: ChatRequest = { messages: [{ role: 'user', content: query }] };
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const cluster = await connect(merged);
    try {
      if (merged.stream && !merged.output_file) {
        const parts = await cluster.stream(merged.model, request, { signal: abort.signal });
        for await (const part of parts) {
          if (part.type === 'error') throw part.error;
          if (merged.json) printJsonPart(part);
          else if (part.type === 'text-delta') process.stdout.write(part.delta);
        }
        if (!merged.json) process.stdout.write('\n');
        return;
      }
      if (merged.stream && merged.output_file) {
        await streamToFile(
          merged.output_file,
          await cluster.stream(merged.model, request, { signal: abort.signal }),
        );
        return;
      }
      const result = await cluster.call(merged.model, 'chat', request, { signal: abort.signal });
      if (merged.output_file) await writeOutput(merged.output_file, result.text);
      else if (merged.json) {
        const answer = {
          model: merged.model,
          text: result.text,
          ...(result.reasoning ? { reasoning: result.reasoning } : {}),
          ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls } : {}),
          finish_reason: result.finishReason,
          usage: result.usage,
          request_id: result.requestId,
          ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
        };
        process.stdout.write(`${JSON.stringify(answer)}\n`);
      } else process.stdout.write(`${result.text}\n`);
    } finally {
      await cluster.close();
    }
  });
}

/**
 * `--stream --output_file`: audio parts (a TTS model streamed through chat) are appended to the file
 * as raw bytes while they arrive; text parts are written as text.
 */
async function streamToFile(file: string, parts: AsyncIterable<StreamPart>): Promise<void> {
  // Synchronous appends: awaiting other I/O inside the loop over the head's NDJSON lines would let
  // readline deliver lines while nobody listens.
  const descriptor = openSync(file, 'w');
  let bytes = 0;
  try {
    for await (const part of parts) {
      if (part.type === 'error') throw part.error;
      const chunk =
        part.type === 'audio-delta'
          ? part.data
          : part.type === 'text-delta'
            ? Buffer.from(part.delta)
            : undefined;
      if (!chunk) continue;
      writeSync(descriptor, chunk);
      bytes += chunk.length;
    }
  } finally {
    closeSync(descriptor);
  }
  process.stderr.write(`wrote ${bytes} bytes to ${file}\n`);
}

/** Audio answers (TTS models) come as base64 text; `.mp3`/`.wav` files get the decoded bytes. */
async function writeOutput(file: string, text: string): Promise<void> {
  const extension = path.extname(file).toLowerCase();
  const content = extension === '.mp3' || extension === '.wav' ? Buffer.from(text, 'base64') : text;
  await fs.writeFile(file, content);
  process.stderr.write(`wrote ${content.length} bytes to ${file}\n`);
}

/** `--stream --json`: one JSON line per text piece, and one for the end with the usage. */
function printJsonPart(part: StreamPart): void {
  if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
    process.stdout.write(`${JSON.stringify({ type: part.type, delta: part.delta })}\n`);
  } else if (part.type === 'finish') {
    const { finishReason, usage } = part;
    process.stdout.write(`${JSON.stringify({ type: 'finish', finish_reason: finishReason, usage })}\n`);
  }
}

/**
 * The message: `--query TEXT`, `--query -` (all of stdin), or, without `--query`, stdin when it is
 * a pipe or a file (`echo hi | byzerllm query --model m`). A terminal or an inherited socket is
 * never waited on, so a script without input fails fast with "missing --query".
 */
async function resolveQuery(flag: string | undefined): Promise<string | undefined> {
  if (flag !== undefined && flag !== '-') return flag;
  if (flag === undefined && !stdinIsPipeOrFile()) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  return flag === undefined && text === '' ? undefined : text;
}

function stdinIsPipeOrFile(): boolean {
  try {
    const stats = fstatSync(0);
    return stats.isFIFO() || stats.isFile();
  } catch {
    return false;
  }
}
