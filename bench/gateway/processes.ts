/**
 * The processes a gateway benchmark starts (upstream, proxies, heads), and their CPU time. Every one
 * is remembered and `stopProcesses` ends them, so a benchmark leaves nothing running.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { processCpuSeconds } from '../process-cpu.js';

const children: ChildProcess[] = [];

/** Starts a process and resolves with the first stdout line that matches `ready`. */
export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready.test(line)) resolve({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${errors}`)));
  });
}

/** A Node script that prints one JSON line once ready (`{"url": …}`); resolves with it parsed. */
export async function startJsonProcess(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; json: Record<string, unknown> }> {
  const { child, line } = await startProcess(process.execPath, args, env, /^\{/);
  return { child, json: JSON.parse(line) as Record<string, unknown> };
}

/** Runs a Node script (a CLI command) to its end; resolves with its stdout. */
export function runCommand(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${args.join(' ')}: ${errors}`)),
    );
  });
}

export function stopProcesses(): void {
  for (const child of children) child.kill('SIGTERM');
}

/**
 * CPU seconds of each process in `pids` so far (0 for none: a target with no process of its own).
 * Read one after another right before and after a batch; the reads are outside its timed window.
 */
export async function cpuSnapshot(pids: (number | undefined)[]): Promise<number[]> {
  const seconds: number[] = [];
  for (const pid of pids) seconds.push(pid === undefined ? 0 : await processCpuSeconds(pid));
  return seconds;
}

/**
 * The loopback OpenAI upstream (`test/support/openai-upstream-main.js`) and the bare proxy in front
 * of it (`bare-proxy.ts`), of the build in `root`: what every gateway benchmark measures against.
 */
export async function startUpstreamAndBare(root: string) {
  const upstream = await startJsonProcess([
    path.join(root, 'dist/test/support/openai-upstream-main.js'),
    '--port',
    '0',
    '--no-record',
  ]);
  const { url, port, apiKey } = upstream.json as { url: string; port: number; apiKey: string };
  const origin = `http://127.0.0.1:${port}`;
  const bare = await startJsonProcess([
    path.join(root, 'dist/bench/gateway/bare-proxy.js'),
    '--upstream',
    origin,
  ]);
  return {
    upstream: { url, origin, apiKey, pid: upstream.child.pid! },
    bare: { url: String(bare.json.url), pid: bare.child.pid! },
  };
}

/** `uptime`'s line (the load averages), to print with every run: what the machine was doing. */
export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(', ')}`;
  }
}

/**
 * A warning when the last minute's load average exceeds the CPUs: then the processes measured here
 * waited for a core, and the wall-clock figures say as much about that as about the targets.
 */
export function loadNote(): string[] {
  const [lastMinute = 0] = os.loadavg();
  const cpus = os.cpus().length;
  if (lastMinute <= cpus) return [];
  return [
    `Machine loaded: load average ${lastMinute.toFixed(2)} on ${cpus} CPUs. Other work competed for the cores during this run: wall-clock figures and their verdicts move most with it (latency above all), CPU per operation less; rerun on a quiet machine before calling a wall-clock target met or missed.`,
  ];
}
