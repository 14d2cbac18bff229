/**
 * A NATS cluster on one machine started the way users start one: a real nats-server (JetStream,
 * 127.0.0.1, random port), a local OpenAI upstream, a head (`start --head --nats … --head_only`) and
 * node processes (`start --address … --node_id …`), each with its own `$BYZERLLM_HOME`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import { CLI_ENTRY, createTestHome, type TestHome } from './cli.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { untilGone } from './process-watch.js';
import { type NatsServer, startNatsCluster, startNatsServer } from './nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from './openai-upstream.js';

export interface CliCluster {
  /** The NATS node the head and the nodes connect to (the first of `natsNodes`). */
  nats: NatsServer;
  /** Every NATS node: one unless `startCliCluster` was asked for more (one NATS cluster). */
  natsNodes: NatsServer[];
  upstream: OpenAIUpstream;
  head: TestHome;
  /** The node homes by node id, in start order. */
  nodes: Map<string, TestHome>;
  /** Processes a test started beside the cluster; `close` kills those still running. */
  background: ChildProcess[];
  /** Stops nodes, head, upstream and NATS, in that order. */
  close(): Promise<void>;
}

export async function startCliCluster(options: {
  nodeIds: readonly string[];
  /** Extra environment for the head and every node. */
  env?: Record<string, string>;
  /** Extra flags of every node's `start --address …` (e.g. `--cpus 1`). */
  nodeFlags?: readonly string[];
  /** NATS nodes routed into one cluster with clustered JetStream. Defaults to 1. */
  natsNodes?: number;
}): Promise<CliCluster> {
  const natsCluster =
    (options.natsNodes ?? 1) > 1
      ? await startNatsCluster(options.natsNodes)
      : await startNatsServer().then((server) => ({ nodes: [server], close: () => server.close() }));
  const nats = natsCluster.nodes[0]!;
  const upstream = await startOpenAIUpstream({ recordRequests: false });
  const head = await createTestHome();
  const nodes = new Map<string, TestHome>();
  const background: ChildProcess[] = [];
  const close = async () => {
    for (const child of background) if (child.exitCode === null) child.kill('SIGKILL');
    for (const home of nodes.values()) await home.cleanup();
    await head.cleanup();
    await upstream.close();
    await natsCluster.close();
  };
  try {
    Object.assign(head.env, options.env);
    const started = await head.run(['start', '--head', '--nats', nats.url, '--head_only']);
    assert.equal(started.code, 0, started.stderr);
    for (const nodeId of options.nodeIds) {
      const home = await createTestHome();
      Object.assign(home.env, options.env);
      nodes.set(nodeId, home);
      const joined = await home.run([
        'start',
        '--address',
        nats.url,
        '--node_id',
        nodeId,
        ...(options.nodeFlags ?? []),
      ]);
      assert.equal(joined.code, 0, joined.stderr);
      assert.match(joined.stdout, new RegExp(`node ${nodeId} joined`));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { nats, natsNodes: natsCluster.nodes, upstream, head, nodes, background, close };
}

/**
 * Follows a job with `jobs logs --address --follow` (events print as the head receives them) and
 * calls `onEvent` once, at the first event named `event`; resolves to the follower's exit code, its
 * stderr and whether that event came. The follower is one of the cluster's background processes.
 */
export async function followUntilEvent(
  cluster: CliCluster,
  options: { name: string; event: string; onEvent: () => Promise<void> },
): Promise<{ code: number | null; stderr: string; seen: boolean }> {
  const follower = spawn(
    process.execPath,
    [CLI_ENTRY, 'jobs', 'logs', options.name, '--address', cluster.nats.url, '--follow'],
    { env: cluster.head.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Ends by itself when the job does (the caller's test makes it end); killed if the test fails.
  cluster.background.push(follower);
  let stderr = '';
  follower.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const ended = new Promise<number | null>((resolve) => follower.once('close', resolve));
  let seen = false;
  for await (const line of readline.createInterface({ input: follower.stdout! })) {
    if ((JSON.parse(line) as { event?: string }).event !== options.event) continue;
    seen = true;
    await options.onEvent();
    break;
  }
  follower.stdout!.resume();
  return { code: await ended, stderr, seen };
}

/** `followUntilEvent` at the job's first training step. */
export async function followUntilFirstStep(
  cluster: CliCluster,
  name: string,
  onFirstStep: () => Promise<void>,
): Promise<{ code: number | null; stderr: string; stepSeen: boolean }> {
  const { code, stderr, seen } = await followUntilEvent(cluster, {
    name,
    event: 'step',
    onEvent: onFirstStep,
  });
  return { code, stderr, stepSeen: seen };
}

/** Kills the process whose pid `home`'s pid file names (-9), and resolves once it has ended. */
export async function killByPidFile(home: TestHome, file: 'head.json' | 'node.json'): Promise<void> {
  const { pid } = JSON.parse(await fs.readFile(path.join(home.home, file), 'utf8')) as { pid: number };
  process.kill(pid, 'SIGKILL');
  await untilGone(pid, 10_000);
}

/** Starts the cluster's head again (after `killByPidFile(cluster.head, 'head.json')` or `stop`). */
export async function restartClusterHead(cluster: CliCluster): Promise<void> {
  const started = await cluster.head.run(['start', '--head', '--nats', cluster.nats.url, '--head_only']);
  assert.equal(started.code, 0, started.stderr);
}

/**
 * Starts `byzerllm serve --address nats://…` in its own process (a gateway on "another machine",
 * over its own NATS connection, to `natsUrl`: the cluster's first NATS node unless given) and
 * returns its base URL once it listens; `close` kills it. `onStderr` gets what it logs.
 */
export async function startServeOverNats(
  cluster: CliCluster,
  options: { natsUrl?: string; onStderr?: (chunk: string) => void } = {},
): Promise<string> {
  const address = options.natsUrl ?? cluster.nats.url;
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve', '--port', '0', '--address', address], {
    env: cluster.head.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cluster.background.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    options.onStderr?.(chunk);
  });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  const match = /(http:\/\/\S+\/v1)/.exec(String(first.value ?? ''));
  assert.ok(match, `serve printed ${JSON.stringify(first.value)}; stderr: ${stderr}`);
  return match[1]!;
}
