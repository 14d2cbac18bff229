/**
 * Deploy/undeploy cycles leave nothing behind in the head (issue 11's memory goal: growth bounded
 * after 1,000 cycles). Counted, not timed: after many cycles over the admin API, the head's
 * resources are all free again, no deployment is listed, and the process holds the same libuv
 * handles (timers, pipes, child processes) and the same process-wide listeners as after the first
 * cycle — a leak of any of them grows with every cycle and would show here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { serve } from '@hono/node-server';
import {
  createAdminApi,
  createInProcessTransport,
  DeploymentStore,
  Head,
  HeadClient,
} from '../../src/cluster/index.js';
import { deadlineClock } from '../../src/engines/shared/request-deadline.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let directory: string;
let head: Head;
let client: HeadClient;
let server: ReturnType<typeof serve>;

before(async () => {
  upstream = await startOpenAIUpstream();
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-cycles-'));
  head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  await head.restore();
  server = serve({
    fetch: createAdminApi({ cluster: head, token: 'cycle-token' }).fetch,
    hostname: '127.0.0.1',
    port: 0,
  });
  await new Promise((resolve) => server.once('listening', resolve));
  client = new HeadClient({
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 'cycle-token',
  });
});

after(async () => {
  await client?.close();
  await new Promise((resolve) => server?.close(resolve));
  await head?.close();
  await upstream?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

/** Live libuv resources by type, leaving out sockets (keep-alive pools open and close them freely). */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) {
    if (name.startsWith('TCP')) continue;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const processEvents = ['exit', 'SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'] as const;

function processListeners(): Record<string, number> {
  return Object.fromEntries(processEvents.map((event) => [event, process.listenerCount(event)]));
}

async function cycle(count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const outcome = await client.deploy({
      name: 'cycle_chat',
      pretrainedModelType: 'saas/openai',
      numWorkers: 2,
      inferParams: {
        'saas.api_key': upstream.apiKey,
        'saas.model': 'm',
        'saas.base_url': upstream.url,
      },
    });
    assert.equal(outcome.deployment.workers.length, 2);
    // One call per cycle, so the engines' HTTP clients and deadlines are exercised too.
    const answer = await client.call('cycle_chat', 'chat', {
      messages: [{ role: 'user', content: `hi ${index}` }],
    });
    assert.equal(answer.text, `echo: hi ${index}`);
    const { removed } = await client.undeploy('cycle_chat');
    assert.equal(removed, true);
  }
}

test('after 60 deploy/undeploy cycles the head holds what it held after the first', async () => {
  await cycle(1);
  const status = await head.status();
  const baseline = { handles: handles(), listeners: processListeners(), nodes: status.nodes };
  assert.deepEqual(status.deployments, []);

  await cycle(60);

  const after = await head.status();
  assert.deepEqual(after.deployments, []);
  // Every worker's resources were given back (a leaked holding would show as used CPU or memory).
  assert.deepEqual(after.nodes, baseline.nodes);
  assert.deepEqual(handles(), baseline.handles);
  assert.deepEqual(processListeners(), baseline.listeners);
  assert.equal(deadlineClock.size, 0);
});
