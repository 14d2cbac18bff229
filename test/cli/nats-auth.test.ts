/**
 * An authenticated cluster through the real CLI: nats-server with TLS (a CA made with openssl) and
 * the per-role users of docs/cluster.md; the head with user/password, a node with a creds file, both
 * holding a cluster key; an operator that deploys and a client that may only query. Credentials are
 * never printed or logged; the client can neither deploy, read the secrets, publish heartbeats nor
 * subscribe to worker subjects.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectNats, KV_DEPLOYMENTS, subjects } from '../../src/cluster/index.js';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type SecureNatsServer, startSecureNatsServer } from '../support/nats-secure-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

/** Resolves with the first permission error the connection reports. */
async function nextPermissionError(connection: NatsConnection): Promise<string> {
  for await (const status of connection.status()) {
    if (status.type === 'error' && /Permissions Violation/.test(status.error.message))
      return status.error.message;
  }
  throw new Error('the connection closed without a permission error');
}

describe('an authenticated NATS cluster (TLS, user/password, creds, per-role permissions)', () => {
  let nats: SecureNatsServer;
  let upstream: OpenAIUpstream;
  let head: TestHome;
  let node: TestHome;
  let tls: string[];
  let keyFile: string;
  const printed: string[] = [];

  before(async () => {
    nats = await startSecureNatsServer();
    upstream = await startOpenAIUpstream({ recordRequests: false });
    head = await createTestHome();
    node = await createTestHome();
    tls = ['--nats_tls_ca', nats.caFile];
    keyFile = path.join(head.home, 'cluster.key');
    const started = await head.run([
      'start',
      '--head',
      '--nats',
      nats.urlFor('head'),
      ...tls,
      '--head_only',
      '--cluster_key_file',
      keyFile,
    ]);
    printed.push(started.stdout, started.stderr);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /for the cluster at nats:\/\/\*\*\*@127\.0\.0\.1/);
    const joined = await node.run([
      'start',
      '--address',
      nats.url,
      '--nats_creds',
      nats.nodeCredsFile,
      ...tls,
      '--cluster_key_file',
      keyFile,
      '--node_id',
      'n1',
    ]);
    printed.push(joined.stdout, joined.stderr);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /node n1 joined/);
  });

  after(async () => {
    await node?.cleanup();
    await head?.cleanup();
    await upstream?.close();
    await nats?.close();
  });

  test('the operator deploys, the client queries (plain and streamed) and sees the node', async () => {
    const deployed = await head.run([
      'deploy',
      '--address',
      nats.urlFor('operator'),
      ...tls,
      '--model',
      'chat',
      '--pretrained_model_type',
      'saas/openai',
      '--num_workers',
      '2',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.max_retries=0',
    ]);
    printed.push(deployed.stdout, deployed.stderr);
    assert.equal(deployed.code, 0, deployed.stderr);
    for (const stream of [[], ['--stream']]) {
      const query = await head.run([
        'query',
        '--address',
        nats.urlFor('client'),
        ...tls,
        '--model',
        'chat',
        '--query',
        'over tls',
        ...stream,
      ]);
      printed.push(query.stdout, query.stderr);
      assert.equal(query.stdout, 'echo: over tls\n', query.stderr);
    }
    const status = await head.run(['status', '--address', nats.urlFor('client'), ...tls, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(
      JSON.parse(status.stdout).nodes.map((entry: { id: string }) => entry.id),
      ['n1'],
    );
  });

  test('a gateway with the gateway role serves a cached route: a miss, then a hit from the KV bucket', async () => {
    const file = path.join(head.home, 'guarded.yaml');
    await fs.writeFile(
      file,
      'strategy: single\ncache: { ttl_seconds: 600 }\ntargets: [{ deployment: chat }]\n',
    );
    const set = await head.run(['route', 'set', 'guarded', '--file', file]);
    assert.equal(set.code, 0, set.stderr);
    const gateway = spawn(
      process.execPath,
      [CLI_ENTRY, 'serve', '--port', '0', '--address', nats.urlFor('gateway'), ...tls],
      { env: head.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    gateway.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    try {
      const first = await createInterface({ input: gateway.stdout! })[Symbol.asyncIterator]().next();
      const baseURL = /(http:\/\/\S+\/v1)/.exec(String(first.value ?? ''))?.[1];
      assert.ok(baseURL, `serve printed ${JSON.stringify(first.value)}; stderr: ${stderr}`);
      const ask = () =>
        fetch(`${baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'guarded', messages: [{ role: 'user', content: 'guarded' }] }),
        });
      const miss = await ask();
      assert.equal(miss.status, 200, await miss.clone().text());
      assert.equal(miss.headers.get('x-byzerllm-cache'), 'miss');
      await miss.arrayBuffer();
      const hit = await ask();
      assert.equal(hit.headers.get('x-byzerllm-cache'), 'hit');
      const body = (await hit.json()) as { choices: { message: { content: string } }[] };
      assert.equal(body.choices[0]!.message.content, 'echo: guarded');
      assert.doesNotMatch(stderr, /unavailable|Permissions Violation/);
    } finally {
      gateway.kill('SIGKILL');
    }
  });

  test('the client may not deploy: a one-line permission error, exit 2', async () => {
    const refused = await head.run([
      'deploy',
      '--address',
      nats.urlFor('client'),
      ...tls,
      '--model',
      'mine',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      'saas.api_key=sk-x',
    ]);
    printed.push(refused.stdout, refused.stderr);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /refused it: Permissions Violation for Publish to "byzerllm\.admin\.deploy"/,
    );
  });

  test('the client can neither read the secrets, publish heartbeats nor subscribe to workers', async () => {
    const client = await connectNats(nats.urlFor('client'), 'intruder', { tls: { caFile: nats.caFile } });
    try {
      const bucket = await new Kvm(client).open(KV_DEPLOYMENTS);
      await assert.rejects(bucket.get('chat'), /Permissions Violation/);
      const heartbeatRefused = nextPermissionError(client);
      client.publish(subjects.heartbeat('n1'), new TextEncoder().encode('{}'));
      assert.match(await heartbeatRefused, /Publish to "byzerllm\.heartbeat\.n1"/);
      const subscription = client.subscribe('byzerllm.worker.>');
      const closedWith = await subscription.closed;
      assert.match(String(closedWith), /Permissions Violation for Subscription to "byzerllm\.worker\.>"/);
    } finally {
      await client.close();
    }
  });

  test('the secrets rest sealed in KV: even the head user reads no API key there', async () => {
    const reader = await connect({
      servers: nats.url,
      user: 'head',
      pass: nats.passwords.head,
      tls: { caFile: nats.caFile },
    });
    try {
      const bucket = await new Kvm(reader).open(KV_DEPLOYMENTS);
      const raw = (await bucket.get('chat'))!.string();
      assert.match(raw, /sealedSecrets/);
      assert.ok(!raw.includes(upstream.apiKey), raw);
    } finally {
      await reader.close();
    }
  });

  test('a wrong password or no CA fails at once (exit 6), showing neither password', async () => {
    const wrong = await head.run(['list', '--address', nats.urlFor('client', 'Wr0ngPassw0rd'), ...tls]);
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.match(
      wrong.stderr,
      /cannot connect to NATS at nats:\/\/\*\*\*@127\.0\.0\.1:\d+: Authorization Violation/,
    );
    assert.ok(!wrong.stderr.includes('Wr0ngPassw0rd'), wrong.stderr);
    const untrusted = await head.run(['list', '--address', nats.urlFor('client')]);
    assert.equal(untrusted.code, 6, untrusted.stderr);
    assert.match(untrusted.stderr, /certificate/);
    printed.push(untrusted.stderr);
  });

  test('no credential appears in anything printed, the logs or node.json', async () => {
    const files = await Promise.all([
      fs.readFile(path.join(head.home, 'logs', 'head.log'), 'utf8'),
      fs.readFile(path.join(node.home, 'logs', 'node.log'), 'utf8'),
      fs.readFile(path.join(node.home, 'node.json'), 'utf8'),
    ]);
    const everything = [...printed, ...files].join('\n');
    for (const secret of [...Object.values(nats.passwords), nats.nodeSeed, upstream.apiKey]) {
      const at = everything.indexOf(secret);
      assert.equal(at, -1, `a secret appears in the output: …${everything.slice(Math.max(0, at - 200), at)}`);
    }
    assert.match(files[0]!, /cluster head on nats:\/\/\*\*\*@127\.0\.0\.1/);
  });
});
