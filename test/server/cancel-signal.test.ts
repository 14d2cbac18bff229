/**
 * The gateway's cancel signal is one per client connection: every request on a keep-alive
 * connection gets the same signal, another connection gets another, and nothing that listens to it
 * leaves a listener behind once its call settled (else a long-lived connection would leak).
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import type { ClusterApi, ClusterCallOptions } from '../../src/cluster/index.js';
import { startOpenAIServer, type RunningOpenAIServer } from '../../src/server/index.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

describe('gateway cancel signal', () => {
  let gateway: Gateway;
  let server: RunningOpenAIServer;
  const signals: AbortSignal[] = [];

  before(async () => {
    gateway = await startGateway();
    const head = gateway.head;
    const seen = (options: ClusterCallOptions | undefined) => {
      if (options?.signal) signals.push(options.signal);
      return options;
    };
    // The real head, recording the signal each call carries.
    const recording: ClusterApi = {
      deploy: (spec) => head.deploy(spec),
      undeploy: (name, options) => head.undeploy(name, options),
      list: () => head.list(),
      stat: (name) => head.stat(name),
      meta: (name) => head.meta(name),
      call: (name, kind, request, options) => head.call(name, kind, request, seen(options)),
      stream: (name, request, options) => head.stream(name, request, seen(options)),
      status: () => head.status(),
    };
    server = await startOpenAIServer({ cluster: recording, port: 0 });
  });
  after(async () => {
    await server.close();
    await gateway.close();
  });

  test('one signal per connection, with no listener left after 300 requests of every kind', async () => {
    const send = (pool: Pool, body: Record<string, unknown>) =>
      pool
        .request({
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt_chat', ...body }),
        })
        .then(async (response) => ({ status: response.statusCode, text: await response.body.text() }));
    const first = new Pool(server.address, { connections: 1 });
    const second = new Pool(server.address, { connections: 1 });
    try {
      const kinds: Record<string, unknown>[] = [
        { messages: [{ role: 'user', content: 'plain' }] },
        { stream: true, messages: [{ role: 'user', content: 'a streamed answer' }] },
        { n: 2, messages: [{ role: 'user', content: 'two choices' }] },
        { messages: [{ role: 'user', content: 'fail:502 upstream failure' }] },
        { stream: true, messages: [{ role: 'user', content: 'fail:429 refused stream' }] },
        { messages: [{ role: 'user', content: 'tool:lookup a tool call' }] },
      ];
      const statuses = new Set<number>();
      for (let index = 0; index < 300; index++) {
        statuses.add((await send(first, kinds[index % kinds.length]!)).status);
      }
      assert.deepEqual([...statuses].sort(), [200, 429, 502]);
      await send(second, kinds[0]!);
      const distinct = [...new Set(signals)];
      assert.equal(distinct.length, 2, 'one signal for each of the two connections');
      assert.equal(signals.filter((signal) => signal === distinct[0]).length, 350);
      for (const signal of distinct) {
        assert.equal(getEventListeners(signal, 'abort').length, 0);
        assert.equal(signal.aborted, false);
      }
    } finally {
      await first.close();
      await second.close();
    }
    // A connection that closes aborts its signal (what cancels a call in flight when a client leaves).
    await gateway.upstream.waitUntil(() => signals[0]!.aborted);
    assert.equal(signals.at(-1)!.aborted, true);
  });
});
