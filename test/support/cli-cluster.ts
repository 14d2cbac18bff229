/**
 * A NATS cluster on one machine started the way users start one: a real nats-server (JetStream,
 * 127.0.0.1, random port), a local OpenAI upstream, a head (`start --head --nats … --head_only`) and
 * node processes (`start --address … --node_id …`), each with its own `$BYZERLLM_HOME`.
 */
import assert from 'node:assert/strict';
import { createTestHome, type TestHome } from './cli.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from './openai-upstream.js';

export interface CliCluster {
  nats: NatsServer;
  upstream: OpenAIUpstream;
  head: TestHome;
  /** The node homes by node id, in start order. */
  nodes: Map<string, TestHome>;
  /** Stops nodes, head, upstream and NATS, in that order. */
  close(): Promise<void>;
}

export async function startCliCluster(options: {
  nodeIds: readonly string[];
  /** Extra environment for the head and every node. */
  env?: Record<string, string>;
  /** Extra flags of every node's `start --address …` (e.g. `--cpus 1`). */
  nodeFlags?: readonly string[];
}): Promise<CliCluster> {
  const nats = await startNatsServer();
  const upstream = await startOpenAIUpstream({ recordRequests: false });
  const head = await createTestHome();
  const nodes = new Map<string, TestHome>();
  const close = async () => {
    for (const home of nodes.values()) await home.cleanup();
    await head.cleanup();
    await upstream.close();
    await nats.close();
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
  return { nats, upstream, head, nodes, close };
}
