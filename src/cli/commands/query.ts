import { closeSync, openSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type ChatRequest, InvalidArgumentError, type StreamPart, TEMPLATE_NAMES } from '../../core/index.js';
import { printArgumentsBanner, readConfigFile } from '../arguments.js';
import { chosenAddress, connect } from '../connect.js';
import { addAddressOptions } from '../options.js';

interface QueryFlags {
  model?: string;
  query?: string;
  template?: string;
  output_file?: string;
  stream?: boolean;
  address?: string;
  ray_address?: string;
  file?: string;
}

export function registerQuery(program: Command): void {
  const command = program
    .command('query')
    .description('send one user message to a deployment and print the answer')
    .option('--model <name>', 'the deployment to ask (required)')
    .option('--query <text>', 'the user message (required)')
    .option('--template <name>', `chat template: ${TEMPLATE_NAMES.join(', ')}`, 'auto')
    .option('--output_file <path>', 'write the answer to a file; .mp3/.wav answers are decoded from base64')
    .option('--stream', 'print the answer as it is generated', false);
  addAddressOptions(command).action(async (flags: QueryFlags) => {
    const merged: QueryFlags = flags.file
      ? {
          ...flags,
          ...(await readConfigFile(flags.file, [
            'model',
            'query',
            'template',
            'output_file',
            'stream',
            'address',
            'ray_address',
          ])),
        }
      : flags;
    printArgumentsBanner({ ...merged, address: chosenAddress(merged) });
    if (!merged.model) throw new InvalidArgumentError('missing --model: the deployment to ask');
    if (merged.query === undefined) throw new InvalidArgumentError('missing --query: the message to send');
    const template = merged.template ?? 'auto';
    if (!(TEMPLATE_NAMES as readonly string[]).includes(template)) {
      throw new InvalidArgumentError(
        `unknown --template ${JSON.stringify(template)}; allowed: ${TEMPLATE_NAMES.join(', ')}`,
      );
    }
    const request: ChatRequest = { messages: [{ role: 'user', content: merged.query }] };
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const cluster = await connect(merged);
    try {
      if (merged.stream && !merged.output_file) {
        const parts = await cluster.stream(merged.model, request, { signal: abort.signal });
        for await (const part of parts) {
          if (part.type === 'text-delta') process.stdout.write(part.delta);
          if (part.type === 'error') throw part.error;
        }
        process.stdout.write('\n');
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
      else process.stdout.write(`${result.text}\n`);
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
