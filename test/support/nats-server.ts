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

/** Starts nats-server; ready once it logs a line matching `ready` (by default "Server is ready"). */
function launch(
  port: number,
  storage: string,
  host: string,
  extra: { args: string[]; ready: RegExp } = { args: [], ready: /Server is ready/ },
): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-a', host, '-p', String(port), '-js', '-sd', storage, ...extra.args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const output: string[] = [];
    lines.on('line', (line) => {
      output.push(line);
      if (extra.ready.test(line)) resolve(child);
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

/** A started server that `stop`, `restart` and `close` manage (the same port and storage). */
async function managedServer(
  port: number,
  storage: string,
  host: string,
  extra?: { args: string[]; ready: RegExp },
): Promise<NatsServer> {
  let child: ChildProcess | undefined = await launch(port, storage, host, extra);
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
      child = await launch(port, storage, host, extra);
    },
    async close() {
      await stopProcess(child);
      child = undefined;
      await fs.rm(storage, { recursive: true, force: true });
    },
  };
}

/** `host` defaults to 127.0.0.1; a partition test binds the host side of its own veth pair. */
export async function startNatsServer(host = '127.0.0.1'): Promise<NatsServer> {
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-nats-'));
  return managedServer(await freePort(), storage, host);
}

/**
 * Two (or more) nats-servers routed into one NATS cluster with clustered JetStream, each with its
 * own port and storage: clients of different nodes share subjects and KV buckets. Ready once every
 * node knows the JetStream metadata leader. `close()` stops them all and deletes their storage.
 */
export async function startNatsCluster(size = 2): Promise<{ nodes: NatsServer[]; close(): Promise<void> }> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
  const ready = /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/;
  const started = await Promise.allSettled(
    ports.map(async (port, index) => {
      const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-nats-'));
      const args = ['-n', `node-${index}`, '--cluster_name', 'byzerllm-test'];
      args.push('--cluster', `nats://127.0.0.1:${routePorts[index]}`, '--routes', routes);
      try {
        return await managedServer(port, storage, '127.0.0.1', { args, ready });
      } catch (error) {
        await fs.rm(storage, { recursive: true, force: true });
        throw error;
      }
    }),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const close = async () => {
    for (const node of nodes) await node.close();
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await close();
    throw failure.reason;
  }
  return { nodes, close };
}
