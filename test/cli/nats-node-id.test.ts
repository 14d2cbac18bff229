/**
 * Node ids through the real CLI: two nodes started without `--node_id` on one machine (the same
 * host name, as two machines cloned from one image would have) must not merge into one node; an id
 * that is not a subject token is refused before anything starts. Also a token-protected NATS server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectNats, defaultNodeId } from '../../src/cluster/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { startTokenNatsServer } from '../support/nats-secure-server.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';

describe('node ids of a NATS cluster', () => {
  let nats: NatsServer;
  const homes: TestHome[] = [];
  const home = async () => {
    const created = await createTestHome();
    homes.push(created);
    return created;
  };

  before(async () => {
    nats = await startNatsServer();
  });

  after(async () => {
    for (const created of homes.reverse()) await created.cleanup();
    await nats?.close();
  });

  test('a second node with the same (default) id is refused with an error naming the node', async () => {
    const head = await home();
    const started = await head.run(['start', '--head', '--nats', nats.url, '--head_only']);
    assert.equal(started.code, 0, started.stderr);
    const first = await (await home()).run(['start', '--address', nats.url]);
    assert.equal(first.code, 0, first.stderr);
    const nodeId = defaultNodeId();
    assert.match(first.stdout, new RegExp(`node ${nodeId} joined`));
    const second = await (await home()).run(['start', '--address', nats.url]);
    assert.notEqual(second.code, 0);
    assert.match(
      second.stderr,
      new RegExp(
        `node id ${nodeId} is already used by a live node on host .* \\(pid \\d+\\); give this node another --node_id`,
      ),
    );
    const status = await head.run(['status', '--address', nats.url, '--json']);
    assert.deepEqual(
      JSON.parse(status.stdout).nodes.map((node: { id: string }) => node.id),
      [nodeId],
    );
  });

  test('a node id with a dot is refused before a process starts (exit 2)', async () => {
    const refused = await (await home()).run(['start', '--address', nats.url, '--node_id', 'gpu.box']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /invalid node id "gpu\.box": 1-128 letters, digits, "_" or "-"/);
  });

  test('a token in the URL authenticates; a wrong one fails without showing either', async () => {
    const token = 'T0ken-for-this-test';
    const server = await startTokenNatsServer(token);
    try {
      const connection = await connectNats(server.url.replace('nats://', `nats://${token}@`), 'token-test');
      await connection.close();
      await assert.rejects(
        connectNats(server.url.replace('nats://', 'nats://Wr0ng-token@'), 'token-test'),
        (error: Error) =>
          /Authorization Violation/.test(error.message) &&
          !error.message.includes('Wr0ng-token') &&
          error.message.includes('nats://***@127.0.0.1'),
      );
    } finally {
      await server.close();
    }
  });
});
