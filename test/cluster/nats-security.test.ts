/**
 * The NATS security building blocks without a server: URL credentials and their redaction, the
 * collision-free KV key encoding, the cluster key (signatures, sealed secrets) and sealed specs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../src/core/index.js';
import { ClusterKey } from '../../src/cluster/nats/cluster-key.js';
import { kvKey, nameFromKvKey } from '../../src/cluster/nats/nats-protocol.js';
import { redactNatsUrl, resolveNatsOptions } from '../../src/cluster/nats/nats-security.js';
import { openSpec, sealSpec } from '../../src/cluster/nats/sealed-spec.js';
import { decodeSigned, encodeSigned } from '../../src/cluster/nats/signed-envelope.js';
import {
  headHelloSchema,
  streamMessageSchema,
  streamRequestMessageSchema,
} from '../../src/cluster/nats/nats-messages.js';

describe('NATS URLs with credentials', () => {
  test('user and password leave the URL for the connect options, and are redacted everywhere', () => {
    const resolved = resolveNatsOptions('nats://alice:s3cr%40t@127.0.0.1:4222');
    assert.deepEqual(resolved.options.servers, ['nats://127.0.0.1:4222']);
    assert.equal(resolved.options.user, 'alice');
    assert.equal(resolved.options.pass, 's3cr@t');
    assert.deepEqual(resolved.secrets, ['s3cr@t']);
    assert.equal(redactNatsUrl('nats://alice:s3cr%40t@127.0.0.1:4222'), 'nats://***@127.0.0.1:4222');
  });

  test('a lone user part is a token; tls:// requires TLS; lists keep every server', () => {
    const resolved = resolveNatsOptions('tls://T0KEN@a:4222,nats://b:4222');
    assert.equal(resolved.options.token, 'T0KEN');
    assert.equal(resolved.options.user, undefined);
    assert.deepEqual(resolved.options.servers, ['nats://a:4222', 'nats://b:4222']);
    assert.deepEqual(resolved.options.tls, {});
    assert.equal(redactNatsUrl('tls://T0KEN@a:4222,nats://u:p@b:4222'), 'tls://***@a:4222,nats://***@b:4222');
    assert.equal(resolveNatsOptions('nats://a:4222').options.tls, undefined);
  });

  test('a bad address is refused without showing its password', () => {
    assert.throws(
      () => resolveNatsOptions('http://bob:hunter2@host:4222'),
      (error: Error) =>
        /scheme must be nats:\/\/ or tls:\/\//.test(error.message) && !error.message.includes('hunter2'),
    );
  });

  test('a credentials file that is neither creds nor an nkey seed is refused, naming the file', async () => {
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-creds-'));
    try {
      const file = path.join(folder, 'bad.creds');
      await fs.writeFile(file, 'not credentials');
      assert.throws(
        () => resolveNatsOptions('nats://a:4222', { credsFile: file }),
        new RegExp(`${file.replace(/[.]/g, '\\.')} holds neither`),
      );
      assert.throws(
        () => resolveNatsOptions('nats://a:4222', { tls: { certFile: file } }),
        /needs --nats_tls_key/,
      );
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  });
});

describe('message schemas', () => {
  test('a stream inbox must be an _INBOX subject without wildcards', () => {
    const request = { requestId: 'r1', request: { messages: [] } };
    assert.ok(streamRequestMessageSchema.safeParse({ ...request, inbox: '_INBOX.abc.def' }).success);
    for (const inbox of ['byzerllm.node.n1.stop', '_INBOX.>', '_INBOX.*', '_INBOX', 'a b']) {
      assert.equal(streamRequestMessageSchema.safeParse({ ...request, inbox }).success, false, inbox);
    }
  });
});

describe('stream messages', () => {
  test('parts of the model protocol pass (extra fields kept); malformed parts do not', () => {
    const message = (part: unknown) => streamMessageSchema.safeParse({ sequence: 0, part });
    assert.ok(message({ type: 'text-delta', delta: 'hi' }).success);
    const finish = message({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, cachedTokens: 3 },
    });
    assert.deepEqual(finish.success && finish.data.part, {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, cachedTokens: 3 },
    });
    assert.ok(message({ type: 'audio-delta', data: new Uint8Array([1, 2]) }).success);
    for (const part of [
      { type: 'text-delta' },
      { type: 'made-up', delta: 'x' },
      { type: 'finish', finishReason: 'stop' },
      { type: 'error', error: 'boom' },
      { type: 'audio-delta', data: 'not bytes' },
    ]) {
      assert.equal(message(part).success, false, JSON.stringify(part));
    }
  });
});

describe('KV keys', () => {
  test('names that subject tokens would merge get distinct keys, and decode back', () => {
    const names = ['a.b', 'a_b', 'a-b', 'a=2Eb', 'spread', 'Ünïcode.名'];
    const keys = names.map(kvKey);
    assert.equal(new Set(keys).size, names.length);
    assert.equal(kvKey('spread'), 'spread');
    for (const [index, key] of keys.entries()) {
      assert.match(key, /^[A-Za-z0-9_=-]+$/);
      assert.equal(nameFromKvKey(key), names[index]);
    }
  });
});

describe('the cluster key', () => {
  const key = ClusterKey.fromMaterial(randomBytes(32));
  const other = ClusterKey.fromMaterial(randomBytes(32));

  test('too short a key is refused', () => {
    assert.throws(() => ClusterKey.fromMaterial(Buffer.from('short')), /at least 32 bytes/);
  });

  test('signed messages verify only with the same key, subject and body', () => {
    const data = encodeSigned(key, 'byzerllm.head.hello', { headId: 'h1' });
    assert.deepEqual(decodeSigned(key, 'byzerllm.head.hello', data, headHelloSchema), {
      ok: true,
      value: { headId: 'h1' },
    });
    const moved = decodeSigned(key, 'byzerllm.heartbeat.x', data, headHelloSchema);
    assert.equal(moved.ok, false);
    const forged = decodeSigned(other, 'byzerllm.head.hello', data, headHelloSchema);
    assert.deepEqual(forged, { ok: false, reason: 'bad signature: the sender holds another cluster key' });
    const unsigned = encodeSigned(undefined, 'byzerllm.head.hello', { headId: 'h1' });
    assert.equal(decodeSigned(key, 'byzerllm.head.hello', unsigned, headHelloSchema).ok, false);
    const tampered = JSON.parse(new TextDecoder().decode(data));
    tampered.body = JSON.stringify({ headId: 'h2' });
    const result = decodeSigned(
      key,
      'byzerllm.head.hello',
      new TextEncoder().encode(JSON.stringify(tampered)),
      headHelloSchema,
    );
    assert.equal(result.ok, false);
  });

  test('secrets of a spec are sealed; the public part stays readable; another key cannot open them', () => {
    const spec = deploymentSpecSchema.parse({
      name: 'chat',
      pretrainedModelType: 'saas/openai',
      inferParams: { 'saas.api_key': 'sk-very-secret', 'saas.model': 'gpt-4o-mini' },
    });
    const sealed = sealSpec(spec, key);
    const text = JSON.stringify(sealed);
    assert.ok(!text.includes('sk-very-secret'), text);
    assert.equal(sealed.spec.inferParams['saas.model'], 'gpt-4o-mini');
    assert.deepEqual(openSpec(JSON.parse(text), key), spec);
    assert.throws(() => openSpec(JSON.parse(text), other), /sealed with another cluster key/);
    assert.throws(() => openSpec(JSON.parse(text), undefined), /secrets of deployment chat are sealed/);
    // Sealed for one deployment, the secrets cannot be moved to another.
    const moved = { ...JSON.parse(text), spec: { ...sealed.spec, name: 'other' } };
    assert.throws(() => openSpec(moved, key), /cannot decrypt/);
  });

  test('a key file readable by others is refused; a missing one is created 0600 by the head', async () => {
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-key-'));
    try {
      const file = path.join(folder, 'cluster.key');
      const lines: string[] = [];
      await ClusterKey.fromFile(file, { createIfMissing: true, log: (line) => lines.push(line) });
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
      assert.match(lines.join('\n'), /wrote a new cluster key/);
      await fs.chmod(file, 0o644);
      await assert.rejects(ClusterKey.fromFile(file), /readable by others/);
      await assert.rejects(
        ClusterKey.fromFile(path.join(folder, 'missing.key')),
        /cannot read the cluster key file/,
      );
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  });
});
