/**
 * Helpers for tests of routes through `byzerllm serve` on a local head: a cached route, the
 * gateway process, and the text of an SSE chat completion stream.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_ENTRY, type TestHome } from './cli.js';

/** Sets route `cached`: one deployment, answers cached for ten minutes. */
export async function setCachedRoute(home: TestHome, deployment: string): Promise<void> {
  const file = path.join(home.home, 'cached.yaml');
  await fs.writeFile(
    file,
    `strategy: single\ncache: { ttl_seconds: 600, max_entries: 10 }\ntargets: [{ deployment: ${deployment} }]\n`,
  );
  const set = await home.run(['route', 'set', 'cached', '--file', file]);
  assert.equal(set.code, 0, set.stderr);
}

/** Starts `byzerllm serve` on the home's head; the caller kills `child`. */
export async function startServe(home: TestHome): Promise<{ child: ChildProcess; baseURL: string }> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve', '--port', '0'], {
    env: home.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const baseURL = /(http:\/\/\S+\/v1)/.exec((await lines.next()).value as string)![1]!;
  return { child, baseURL };
}

/** The chunks of an SSE chat completion stream. */
export function streamedChunks(
  text: string,
): { model: string; choices: { delta: { content?: string } }[] }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map(
      (line) => JSON.parse(line.slice(6)) as { model: string; choices: { delta: { content?: string } }[] },
    );
}

/** The text of an SSE chat completion stream. */
export function streamedContent(text: string): string {
  return streamedChunks(text)
    .map((chunk) => chunk.choices[0]?.delta.content ?? '')
    .join('');
}
