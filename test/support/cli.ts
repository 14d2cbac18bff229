/**
 * Runs the real `byzerllm` CLI (the built bin) as a child process against a private state directory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_ENTRY = fileURLToPath(new URL('../../src/cli/byzerllm.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestHome {
  home: string;
  env: NodeJS.ProcessEnv;
  /** `input` is written to the command's stdin (which is otherwise closed). */
  run(
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string },
  ): Promise<CliResult>;
  /** Stops the head of this home (if any) and deletes the directory. */
  cleanup(): Promise<void>;
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function createTestHome(): Promise<TestHome> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-test-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BYZERLLM_HOME: home, LANG: 'en_US.UTF-8' };
  delete env.BYZERLLM_HEAD_PORT;
  delete env.BYZERLLM_HEAD_NOTIFY;
  return {
    home,
    env,
    run: (args, options = {}) => runCli(args, { ...env, ...options.env }, options.cwd, options.input),
    async cleanup() {
      await runCli(['stop'], env);
      await fs.rm(home, { recursive: true, force: true });
    },
  };
}

/** The lines of stderr that are not the "Command Line Arguments" banner. */
export function stderrWithoutBanner(stderr: string): string[] {
  const lines = stderr.split('\n').filter((line) => line !== '');
  const result: string[] = [];
  let inBanner = false;
  let dashes = 0;
  for (const line of lines) {
    if (line === 'Command Line Arguments:') {
      inBanner = true;
      dashes = 0;
      continue;
    }
    if (inBanner) {
      if (/^-+$/.test(line) && ++dashes === 2) inBanner = false;
      continue;
    }
    result.push(line);
  }
  return result;
}
