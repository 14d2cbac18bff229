/**
 * Malformed messages on every byzerllm subject of a real nats-server: seeded random bytes, random
 * JSON of the wrong shape (`{"nodeId":"z"}` once killed the head), truncated valid messages, deep
 * nesting and unsigned envelopes with bad bodies. The cluster runs without a cluster key here, so
 * the schemas are the only defence. Afterwards the head and the node still serve: no node lost, the
 * workers unchanged, a valid query answered; requests got an error reply instead of a timeout.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AccessControl,
  cacheEntryKey,
  connectNats,
  Governance,
  createInProcessTransport,
  type NatsHead,
  NatsClusterClient,
  type NodeAgent,
  startNatsHead,
  startNodeAgent,
  subjects,
  KV_RESPONSE_CACHE,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import { jobAdminSchemas, jobSubjects } from '../../src/cluster/nats/job-messages.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const RESOURCES = { cpus: 2, memoryBytes: 2 ** 30, gpus: [] };
const MESSAGES_PER_SUBJECT = 60;
/** Request subjects the head serves to gateways on other machines. */
const GATEWAY_REQUEST_SUBJECTS = ['byzerllm.access.admit', 'byzerllm.access.settle'];
/** A route whose response cache is a JetStream KV bucket; the fuzz overwrites one of its entries. */
const CACHED_ROUTE = 'fuzz/cached';
const CACHE_SETTINGS = { ttl_seconds: 600, max_entries: 10 };

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function messageGenerator(seed: number, validExamples: string[]) {
  const random = seededRandom(seed);
  const pick = <Value>(values: readonly Value[]): Value => values[Math.floor(random() * values.length)]!;
  const randomJson = (depth: number): unknown => {
    const choice = Math.floor(random() * (depth > 3 ? 4 : 7));
    if (choice === 0) return null;
    if (choice === 1) return Math.floor(random() * 1e6) - 5e5;
    if (choice === 2) return pick(['', 'z', 'kind', '*', '>', 'a.b', '\u0000', 'x'.repeat(300)]);
    if (choice === 3) return random() < 0.5;
    if (choice === 4) return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(depth + 1));
    const keys = [
      'nodeId',
      'requestId',
      'kind',
      'request',
      'inbox',
      'spec',
      'name',
      'resources',
      'keep',
      'headId',
      'body',
      'at',
      'workerId',
      'sequence',
      'part',
      'ok',
    ];
    return Object.fromEntries(
      Array.from({ length: 1 + Math.floor(random() * 4) }, () => [pick(keys), randomJson(depth + 1)]),
    );
  };
  const fixed = [
    '{"nodeId":"z"}',
    'not json at all',
    '',
    'null',
    '[]',
    '{"body":"{\\"nodeId\\":\\"z\\"}","at":0}',
    `{"body":"not json","at":${Date.now()}}`,
    `{"body":"{\\"keep\\":\\"everything\\"}","at":${Date.now()}}`,
    '{"requestId":"r1","kind":"chat","request":null}',
    '{"requestId":"r2","inbox":"_INBOX.>","request":{}}',
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  ];
  return (): Uint8Array => {
    const kind = Math.floor(random() * 4);
    if (kind === 0)
      return Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
    if (kind === 1) return new TextEncoder().encode(JSON.stringify(randomJson(0)));
    if (kind === 2) {
      const valid = pick(validExamples);
      return new TextEncoder().encode(valid.slice(0, Math.floor(random() * valid.length)));
    }
    return new TextEncoder().encode(pick(fixed));
  };
}

describe('malformed messages on every subject', () => {
  let nats: NatsServer;
  let upstream: OpenAIUpstream;
  let head: NatsHead;
  let nodeConnection: NatsConnection;
  let agent: NodeAgent;
  let client: NatsClusterClient;
  const headLog: string[] = [];
  const nodeLog: string[] = [];

  let stateDirectory: string;
  let governance: Governance;

  before(async () => {
    nats = await startNatsServer();
    upstream = await startOpenAIUpstream({ recordRequests: false });
    stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-head-'));
    head = await startNatsHead({
      url: nats.url,
      stateDirectory,
      resources: RESOURCES,
      headOnly: true,
      log: (line) => headLog.push(line),
    });
    // The gateways' subjects: virtual keys and limits (`access.*`), routes and cooldowns
    // (`governance.*`), served by the head as `byzerllm start` does; route caches in KV.
    const keys = new VirtualKeyStore(stateDirectory);
    await keys.load();
    head.serveAccess(new AccessControl({ keys, priceOf: () => undefined }));
    governance = new Governance({ stateDirectory, cacheOf: head.cacheOf });
    head.serveGovernance(governance);
    nodeConnection = await connectNats(nats.url, 'fuzz-node');
    agent = await startNodeAgent({
      connection: nodeConnection,
      nodeId: 'node-f',
      resources: RESOURCES,
      transport: createInProcessTransport({ nodeId: 'node-f' }),
      log: (line) => nodeLog.push(line),
    });
    client = await NatsClusterClient.connect(nats.url);
    await client.deploy({
      name: 'chat',
      pretrainedModelType: 'saas/openai',
      numWorkers: 2,
      inferParams: {
        'saas.api_key': upstream.apiKey,
        'saas.base_url': upstream.url,
        'saas.max_retries': '0',
      },
    });
    await governance.set(CACHED_ROUTE, {
      strategy: 'single',
      cache: CACHE_SETTINGS,
      targets: [{ deployment: 'chat' }],
    });
  });

  after(async () => {
    await client?.close();
    await agent?.close();
    await head?.close();
    await nodeConnection?.drain().catch(() => {});
    await upstream?.close();
    await nats?.close();
    await fs.rm(stateDirectory, { recursive: true, force: true });
  });

  test('the head and the node drop them all and keep serving', async () => {
    const workersBefore = (await client.status()).deployments[0]!.workers.map((worker) => worker.id).sort();
    assert.equal(workersBefore.length, 2);
    const cache = governance.route(CACHED_ROUTE)!.cache!;
    // A genuine answer first, so the route's bucket exists and the fuzz overwrites a real entry.
    await cache.set('fuzzed request', {
      text: 'genuine',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1 },
      requestId: 'r',
      warnings: [],
    });
    const cacheSubject = `$KV.${KV_RESPONSE_CACHE}.${cacheEntryKey(CACHED_ROUTE, 'fuzzed request')}`;
    const fuzzer = await connectNats(nats.url, 'fuzzer');
    try {
      const valid = [
        JSON.stringify({ body: JSON.stringify({ nodeId: 'node-f', resources: RESOURCES }), at: Date.now() }),
        JSON.stringify({
          requestId: 'abc',
          kind: 'chat',
          request: { messages: [{ role: 'user', content: 'x' }] },
        }),
        JSON.stringify({ requestId: 'abc', inbox: '_INBOX.abc', name: 'chat', request: { messages: [] } }),
        JSON.stringify({ spec: { name: 'fuzzed', pretrainedModelType: 'saas/openai' } }),
      ];
      const next = messageGenerator(20261130, valid);
      const targets = [
        ...['deploy', 'undeploy', 'list', 'stat', 'meta', 'status', 'call', 'stream', 'register'].map(
          subjects.admin,
        ),
        subjects.heartbeat('node-f'),
        subjects.heartbeat('z'),
        subjects.nodeStart('node-f'),
        subjects.nodeStop('node-f'),
        subjects.nodeReconcile('node-f'),
        subjects.nodePing('node-f'),
        subjects.headHello,
        subjects.cancel('abc'),
        // Training jobs on NATS: node → head progress and the client → head job operations.
        jobSubjects.progress,
        ...Object.keys(jobAdminSchemas).map(subjects.admin),
        ...GATEWAY_REQUEST_SUBJECTS,
        'byzerllm.governance.cooldown',
        // Anyone who may write the bucket can put any value under a request's key.
        cacheSubject,
        ...workersBefore.flatMap((id) => [subjects.workerCall(id), subjects.workerStream(id)]),
      ];
      for (const subject of targets) {
        for (let index = 0; index < MESSAGES_PER_SUBJECT; index++) fuzzer.publish(subject, next());
      }
      // JetStream acknowledges a stored message, and stores a subject's messages in order: once this
      // one is acknowledged, every fuzzed value is in the bucket, the last one under the key.
      await fuzzer.request(cacheSubject, next(), { timeout: 5_000 });
      // Requests get an error reply at once, not a timeout.
      for (const operation of ['deploy', 'call', 'stream', 'register']) {
        const reply = await fuzzer.request(
          subjects.admin(operation),
          new TextEncoder().encode('{"nodeId":"z"}'),
          {
            timeout: 5_000,
          },
        );
        const answer = JSON.parse(new TextDecoder().decode(reply.data));
        assert.equal(answer.ok, false, operation);
        assert.equal(answer.error.code, 'invalid_argument', operation);
      }
      // The gateways' request subjects answer a wrong-shaped request with nothing the gateway could
      // take for an answer, and still answer a valid one.
      const state = await fuzzer.request('byzerllm.access.state', new TextEncoder().encode('{}'), {
        timeout: 5_000,
      });
      assert.equal(JSON.parse(new TextDecoder().decode(state.data)).result.active, false);
      const routes = await fuzzer.request('byzerllm.governance.routes', new TextEncoder().encode('{}'), {
        timeout: 5_000,
      });
      assert.deepEqual(Object.keys(JSON.parse(new TextDecoder().decode(routes.data)).result.routes), [
        CACHED_ROUTE,
      ]);
      // Sent after the fuzz on the same connection, so the head and the node have read all of it.
      await fuzzer.request(subjects.admin('status'), new TextEncoder().encode('{}'), { timeout: 5_000 });
      await fuzzer.request(subjects.nodePing('node-f'), new TextEncoder().encode('{}'), { timeout: 5_000 });
    } finally {
      await fuzzer.drain();
    }
    // Every heartbeat was read and dropped: the subscription survived all of them (a non-JSON
    // heartbeat once ended it, and every node was declared lost).
    const dropped = (log: string[], pattern: RegExp) =>
      log.filter((line) => line.startsWith('dropped') && pattern.test(line)).length;
    assert.equal(dropped(headLog, /byzerllm\.heartbeat\./), 2 * MESSAGES_PER_SUBJECT);
    assert.equal(
      dropped(nodeLog, /byzerllm\.(node\.node-f\.(start|stop|reconcile)|head\.hello)/),
      4 * MESSAGES_PER_SUBJECT,
    );
    // (`list` and `status` take any object; `deploy`, `stat`, … may get a well-formed bad request.)
    assert.ok(dropped(headLog, /byzerllm\.admin\.(call|stream|register):/) >= 3 * MESSAGES_PER_SUBJECT);
    assert.ok(dropped(nodeLog, /byzerllm\.worker\./) >= 4 * MESSAGES_PER_SUBJECT);
    // No fuzzed progress message became a job record: every one was dropped, none is listed.
    assert.equal(dropped(headLog, /byzerllm\.jobs\.progress:/), MESSAGES_PER_SUBJECT);
    assert.deepEqual(await client.listTrainingJobs(), []);
    // Fuzzed gateway requests were dropped (admit and settle take only their shape).
    assert.ok(dropped(headLog, /byzerllm\.access\.(admit|settle):/) >= 1.5 * MESSAGES_PER_SUBJECT);
    // The fuzzed value now under the request's key is refused, not replayed as an answer.
    assert.equal(await cache.get('fuzzed request'), undefined);
    assert.equal(
      headLog.filter((line) => line.startsWith(`refused a cached answer of route ${CACHED_ROUTE}`)).length,
      1,
    );
    // Every line about a dropped message is one short line.
    assert.ok(headLog.every((line) => !line.includes('\n') && line.length < 500));
    const answer = await client.call('chat', 'chat', { messages: [{ role: 'user', content: 'still here' }] });
    assert.equal(answer.text, 'echo: still here');
    const streamed: string[] = [];
    for await (const part of await client.stream('chat', {
      messages: [{ role: 'user', content: 'streamed' }],
    })) {
      if (part.type === 'text-delta') streamed.push(part.delta);
    }
    assert.equal(streamed.join(''), 'echo: streamed');
    const status = await client.status();
    assert.deepEqual(
      status.nodes.map((node) => node.id),
      ['node-f'],
    );
    assert.deepEqual(
      status.deployments.map((deployment) => deployment.name),
      ['chat'],
    );
    assert.deepEqual(status.deployments[0]!.workers.map((worker) => worker.id).sort(), workersBefore);
    assert.deepEqual(agent.workerIds().sort(), workersBefore);
    assert.ok(
      !headLog.some((line) => /lost|restarted/.test(line)),
      headLog.filter((line) => /lost/.test(line)).join('\n'),
    );
  });
});
