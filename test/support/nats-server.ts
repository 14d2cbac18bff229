/**
 * A real `nats-server` (Debian's package) with JetStream, bound to 127.0.0.1 on a free port, its
 * storage in a temporary folder. Ready when it logs "Server is ready"; `restart()` keeps the port
 * and the storage (JetStream KV survives).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface NatsServer {
  url: string;
  port: number;
  /** The server process's id while it runs (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and deletes its storage. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function launch(port: number, storage: string, host: string): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-a', host, '-p', String(port), '-js', '-sd', storage], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const output: string[] = [];
    lines.on('line', (line) => {
      output.push(line);
      if (line.includes('Server is ready')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`nats-server exited with ${code}: ${output.slice(-5).join(' | ')}`)),
    );
  });
}

function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `host` defaults to 127.0.0.1; a partition test binds the host side of its own veth pair. */
export async function startNatsServer(host = '127.0.0.1'): Promise<NatsServer> {
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port, storage, host);
  return {
    url: `nats://${host}:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async stop() {
      await stopProcess(child);
      child = undefined;
    },
    async restart() {
      await stopProcess(child);
      child = await launch(port, storage, host);
    },
    async close() {
      await stopProcess(child);
      child = undefined;
      await fs.rm(storage, { recursive: true, force: true });
    },
  };
}
