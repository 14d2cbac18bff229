/**
 * Byzer storage over a NATS cluster: the store lives on the head's machine (its `$BYZERLLM_HOME`),
 * and `ByzerStorage` in a client connected with `nats://…` reaches it through the cluster API
 * (`byzerllm.storage.<operation>`). Real nats-server, a head started by the real CLI, an `emb`
 * deployment on the OpenAI stand-in's embeddings endpoint.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { connect, Empty } from '@nats-io/transport-node';
import { NatsClusterClient } from '../../src/cluster/index.js';
import { ByzerLLMError } from '../../src/core/index.js';
import { ByzerStorage, DataType, FieldOption } from '../../src/storage/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type NatsServer, startNatsServer } from '../support/nats-server.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import { KNOWN, seededDocuments } from './storage-fixture.js';

const documents = seededDocuments(120).map(({ _id, topic, rank, content }) => ({
  _id,
  topic,
  rank,
  content,
  vector: content,
}));

let nats: NatsServer;
let upstream: OpenAIUpstream;
let head: TestHome;
let user: TestHome;
let client: NatsClusterClient;

const storageOf = (table: string) =>
  new ByzerStorage('byzerai_store', 'docs', table, { llm: { cluster: async () => client } });

function failsWith(code: string, fragment: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

before(async () => {
  nats = await startNatsServer();
  upstream = await startOpenAIUpstream();
  head = await createTestHome();
  user = await createTestHome();
  const started = await head.run(['start', '--head', '--nats', nats.url]);
  assert.equal(started.code, 0, started.stderr);
  const deployed = await user.run([
    'deploy',
    '--address',
    nats.url,
    '--pretrained_model_type',
    'saas/openai',
    '--infer_params',
    `saas.api_key=${upstream.apiKey}`,
    `saas.base_url=${upstream.url}`,
    'saas.model=text-embedding-3-small',
    '--model',
    'emb',
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);
  client = await NatsClusterClient.connect(nats.url);
});

after(async () => {
  await client?.close();
  await user.cleanup();
  await head.cleanup();
  await upstream.close();
  await nats.close();
});

test('a nats:// client creates, writes, queries and deletes in the store on the head', async () => {
  const storage = storageOf('notes');
  const created = await storage
    .schemaBuilder()
    .addField('_id', DataType.STRING)
    .addField('topic', DataType.STRING)
    .addField('rank', DataType.LONG, [FieldOption.SORT])
    .addField('content', DataType.STRING, [FieldOption.ANALYZE])
    .addArrayField('vector', DataType.FLOAT)
    .execute();
  assert.equal(created, true);
  assert.equal(await storage.schemaBuilder().addField('_id', DataType.STRING).execute(), false);
  assert.equal(await storage.writeBuilder().addItems(documents, ['vector']).execute(), documents.length);
  await storage.commit();

  const [zebrafish] = await storage.queryBuilder().setSearchQuery('Zebrafish').setFields(['_id']).execute();
  assert.deepEqual(zebrafish, { _id: KNOWN.zebrafish.id });
  const coffee = await storage.queryBuilder().setSearchQuery('咖啡').setLimit(200).execute();
  assert.equal(coffee.length, documents.filter((document) => document.content.includes('咖啡')).length);
  assert.ok(coffee.length > 0);
  const [nearest] = await storage
    .queryBuilder()
    .setVectorQuery(documents[17]!.content, ['vector'])
    .setFields(['_id'])
    .execute();
  assert.deepEqual(nearest, { _id: 'doc-17' });
  const music = await storage
    .queryBuilder()
    .andFilter()
    .addCondition('topic', 'music')
    .build()
    .setLimit(200)
    .execute();
  assert.equal(music.length, documents.filter((document) => document.topic === 'music').length);

  assert.equal(await storage.deleteByIds(['doc-17', 'doc-18']), 2);
  assert.equal((await storage.describe()).rows, documents.length - 2);
  assert.ok(
    (await fs.stat(path.join(head.home, 'storage', 'byzerai_store', 'docs', 'notes.lance'))).isDirectory(),
    "the table lives in the head's state directory",
  );
  await assert.rejects(fs.stat(path.join(user.home, 'storage')), { code: 'ENOENT' });
  assert.equal(await storage.truncateTable(), documents.length - 2);
  assert.equal(await storage.drop(), true);
  await assert.rejects(storage.describe(), failsWith('not_found', 'no table notes in byzerai_store/docs'));
});

test('byzerllm storage status --address nats://… lists the tables of the store on the head', async () => {
  const storage = storageOf('listed');
  await storage.schemaBuilder().addField('_id', DataType.STRING).execute();
  await storage
    .writeBuilder()
    .addItems([{ _id: 'a' }, { _id: 'b' }])
    .execute();
  const status = await user.run(['storage', 'status', '--address', nats.url]);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^✓ docs\.listed: 2 rows$/m);
  assert.equal(await storage.drop(), true);
});

test('storage errors travel back over NATS as the same one-line errors', async () => {
  const storage = storageOf('checked');
  await storage.schemaBuilder().addField('_id', DataType.STRING).addField('size', DataType.LONG).execute();
  await assert.rejects(
    storage.writeBuilder().addItem({ _id: 'a', colour: 'red' }).execute(),
    failsWith('invalid_argument', 'field colour: not in the table'),
  );
  await assert.rejects(
    storageOf('missing').writeBuilder().addItem({ _id: 'a' }).execute(),
    failsWith('not_found', 'no table missing in byzerai_store/docs'),
  );
  await assert.rejects(
    client.storage('query', { cluster: 'byzerai_store' }),
    failsWith('invalid_argument', 'invalid query request'),
  );
  await assert.rejects(
    client.storage('drop.*', {}),
    failsWith('invalid_argument', 'unknown storage operation'),
  );
  const oversized = Array.from({ length: 40 }, (_, index) => ({
    _id: `big-${index}`,
    note: 'x'.repeat(40_000),
  }));
  await assert.rejects(
    client.storage('write', { ...storage.location, items: oversized }),
    failsWith('invalid_argument', "over the NATS server's max_payload of 1048576 bytes"),
  );
  assert.equal((await storage.describe()).rows, 0, 'a failed batch leaves the table as it was');
});

test('each storage operation is its own endpoint of the head service (NATS permissions can grant query alone)', async () => {
  const connection = await connect({ servers: nats.url });
  const info = await connection.request('$SRV.INFO.byzerllm-head', Empty, { timeout: 5_000 });
  await connection.close();
  const endpoints = (info.json() as { endpoints: { name: string; subject: string }[] }).endpoints;
  const storageSubjects = endpoints
    .filter((endpoint) => endpoint.subject.startsWith('byzerllm.storage.'))
    .map((endpoint) => endpoint.subject);
  assert.ok(storageSubjects.includes('byzerllm.storage.query'), storageSubjects.join(', '));
  assert.ok(storageSubjects.includes('byzerllm.storage.write'));
  assert.ok(storageSubjects.includes('byzerllm.storage.drop'));
});
