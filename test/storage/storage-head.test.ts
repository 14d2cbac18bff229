/**
 * Byzer storage as a user runs it: the real `byzerllm storage …` commands and head process, the store
 * living in the head (LanceDB under `$BYZERLLM_HOME/storage`), `ByzerStorage` in this process
 * reaching it through the admin API, the gateway's `/v1/storage/<operation>` endpoints behind the
 * API key, and a head restart that keeps the data. Embeddings come from the tiny ONNX BERT
 * deployed by `storage start --enable_emb`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ClusterConnection, connectCluster, HeadClient } from '../../src/cluster/index.js';
import { writeTinyBertModel } from '../support/tiny-onnx/write-tiny-bert.js';
import { ByzerStorage, DataType, FieldOption } from '../../src/storage/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { KNOWN, seededDocuments } from './storage-fixture.js';

const documents = seededDocuments(300).map(({ _id, topic, rank, content, vector }) => ({
  _id,
  topic,
  rank,
  content,
  vector,
}));

describe('byzerllm storage on the head', () => {
  let home: TestHome;
  let modelFolder: string;
  let cluster: ClusterConnection;

  const connect = async () => {
    cluster = await connectCluster({ stateDirectory: home.home, autoStart: false });
    return cluster;
  };
  const storageOf = (table: string) =>
    new ByzerStorage('byzerai_store', 'docs', table, { llm: { cluster: async () => cluster } });

  before(async () => {
    home = await createTestHome();
    modelFolder = path.join(home.home, 'models', 'tiny-bge');
    await writeTinyBertModel(modelFolder, { task: 'embedding' });
  });
  after(async () => {
    await cluster?.close();
    await home.cleanup();
  });

  test('storage start without a model folder says what is missing (✗) and fails', async () => {
    const result = await home.run(['storage', 'start', '--enable_emb']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /^✓ cluster byzerai_store started/m);
    assert.match(result.stdout, /^✗ emb needs --emb_model_path DIR/m);
    assert.equal(
      result.stderr.trim().split('\n').at(-1)?.startsWith('error: storage start finished with 1 problem'),
      true,
      result.stderr,
    );
  });

  test('storage start --enable_emb deploys emb; ByzerStorage writes and queries through the head', async () => {
    const result = await home.run([
      'storage',
      'start',
      '--enable_emb',
      '--emb_model_path',
      modelFolder,
      '--node_memory',
      '4',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^! --node_memory is ignored/m);
    assert.match(result.stdout, /^! cluster byzerai_store was started already/m);
    assert.match(result.stdout, /^✓ deployed emb \(custom\/bge from /m);

    await connect();
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
    assert.equal(
      await storage.writeBuilder().addItems(documents, ['vector'], ['content']).execute(),
      documents.length,
    );
    await storage.commit();
    const [zebrafish] = await storage.queryBuilder().setSearchQuery('Zebrafish').execute();
    assert.equal(zebrafish?._id, KNOWN.zebrafish.id);
    const coffee = await storage.queryBuilder().setSearchQuery('咖啡').setLimit(300).execute();
    assert.equal(coffee.length, documents.filter((document) => document.content.includes('咖啡')).length);
    const [nearest] = await storage
      .queryBuilder()
      .setVectorQuery(documents[123]!.content, ['vector'])
      .execute();
    assert.equal(nearest?._id, 'doc-123');
    assert.deepEqual((await storage.emb('hello')).length, (await storage.describe()).vectorDimensions.vector);
    assert.ok(
      (await fs.stat(path.join(home.home, 'storage', 'byzerai_store', 'docs', 'notes.lance'))).isDirectory(),
      'the table lives in the head state directory',
    );
  });

  test('storage status and export show the table', async () => {
    const status = await home.run(['storage', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^✓ embedding model emb: running/m);
    assert.match(status.stdout, new RegExp(`^✓ docs\\.notes: ${documents.length} rows$`, 'm'));
    const exported = await home.run(['storage', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const file = path.join(home.home, 'storage', 'byzerai_store.json');
    assert.match(
      exported.stdout,
      new RegExp(`✓ exported cluster byzerai_store to ${file.replaceAll('/', '\\/')}`),
    );
    const info = JSON.parse(await fs.readFile(file, 'utf8'));
    assert.equal(info.started, true);
    assert.deepEqual(
      info.tables.map((table: { table: string; rows: number }) => [table.table, table.rows]),
      [['notes', documents.length]],
    );
  });

  test('/v1/storage/<operation> on the gateway, behind its API key', async () => {
    const head = cluster as HeadClient;
    assert.ok(head instanceof HeadClient);
    const gateway = await head.openGateway({ port: 0, apiKey: 'sk-storage' });
    try {
      const post = (operation: string, body: unknown, key = 'sk-storage') =>
        fetch(`${gateway.address}/v1/storage/${operation}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const location = { cluster: 'byzerai_store', database: 'docs', table: 'notes' };
      const query = { ...location, searchQuery: { text: 'zebrafish', fields: ['content'] }, fields: ['_id'] };
      assert.equal((await post('query', query, 'wrong')).status, 401);
      const answer = await post('query', query);
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { rows: [{ _id: KNOWN.zebrafish.id }] });
      const hybrid = await post('query', {
        ...location,
        searchQuery: { text: 'zebrafish', fields: [] },
        vectorQuery: { text: documents[7]!.content, fields: ['vector'] },
        limit: 2,
        fields: ['_id'],
      });
      assert.deepEqual(
        new Set(((await hybrid.json()) as { rows: { _id: string }[] }).rows.map((row) => row._id)),
        new Set([KNOWN.zebrafish.id, 'doc-7']),
      );
      const bad = await post('query', { ...location, filter: { and: [{ field: 'colour', value: 'red' }] } });
      assert.equal(bad.status, 400);
      assert.match(
        ((await bad.json()) as { error: { message: string } }).error.message,
        /unknown field colour/,
      );
      const nonsense = await post('nonsense', location);
      assert.equal(nonsense.status, 404);
      assert.equal(((await nonsense.json()) as { error: { code: string } }).error.code, 'route_not_found');
      for (const operation of ['write', 'query']) {
        const missing = await post(operation, {
          ...location,
          table: 'no_such_table',
          ...(operation === 'write' ? { items: [{ _id: 'x' }] } : {}),
        });
        assert.equal(missing.status, 404);
        const { error } = (await missing.json()) as {
          error: { code: string; message: string; param: string };
        };
        assert.equal(error.code, 'table_not_found');
        assert.equal(error.param, 'table');
        assert.match(error.message, /^no table no_such_table in byzerai_store\/docs; create it/);
      }
      const written = await post('write', {
        ...location,
        items: [{ _id: 'http-1', topic: 'web', rank: 1, content: '网页 写入', vector: '网页 写入' }],
        vectorFields: ['vector'],
      });
      assert.deepEqual(await written.json(), { written: 1 });
    } finally {
      gateway.close();
      await gateway.closed;
    }
  });

  test('a head restart keeps the data and the schema', async () => {
    await cluster.close();
    assert.equal((await home.run(['stop'])).code, 0);
    assert.equal((await home.run(['start'])).code, 0);
    await connect();
    const storage = storageOf('notes');
    assert.equal((await storage.describe()).rows, documents.length + 1);
    const [written] = await storage.queryBuilder().setSearchQuery('网页').execute();
    assert.equal(written?._id, 'http-1');
    const [nearest] = await storage
      .queryBuilder()
      .setVectorQuery(documents[42]!.content, ['vector'])
      .setFields(['_id'])
      .execute();
    assert.deepEqual(nearest, { _id: 'doc-42' });
  });

  test('storage stop undeploys emb and keeps the data', async () => {
    const result = await home.run(['storage', 'stop']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^✓ undeployed emb$/m);
    assert.match(result.stdout, /^✓ cluster byzerai_store stopped; its data stays in /m);
    assert.deepEqual(
      (await cluster.list()).map((deployment) => deployment.name),
      [],
    );
    const rows = await storageOf('notes')
      .queryBuilder()
      .andFilter()
      .addCondition('topic', 'web')
      .build()
      .execute();
    assert.deepEqual(
      rows.map((row) => row._id),
      ['http-1'],
    );
  });
});
