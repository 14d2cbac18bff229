/**
 * Runs the real CLI in the background, for tests that act while a command is running (kill its
 * head, restart NATS) and then check how and when it ended.
 */
import { spawn } from 'node:child_process';
import { CLI_ENTRY, type CliResult, type TestHome } from './cli.js';

/** Resolves when the command exits, with its output and the time it exited. */
export function startCli(home: TestHome, args: string[]): Promise<CliResult & { exitedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr, exitedAt: Date.now() }));
  });
}
