/**
 * A 10,000-document collection through the `ByzerStorage` API on LanceDB, with every vector made by
 * a real embedding model (the tiny ONNX BERT on the transformers engine, deployed as `emb`).
 * The seeded documents have known answers: unique English and Chinese phrases for full-text,
 * exact document texts for vectors, both for hybrid.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ClusterApi } from '../../src/cluster/index.js';
import { ByzerLLMError } from '../../src/core/index.js';
import {
  ByzerStorage,
  DataType,
  FieldOption,
  openLocalStore,
  SortOption,
  type StorageService,
} from '../../src/storage/index.js';
import {
  DOCUMENT_SCHEMA,
  type EmbeddingFixture,
  KNOWN,
  type SeededDocument,
  seededDocuments,
  startEmbeddingFixture,
  TOPICS,
} from './storage-fixture.js';

const COUNT = 10_000;

function failsWith(code: string, ...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

describe('a 10,000-document collection', () => {
  let fixture: EmbeddingFixture;
  let cluster: ClusterApi;
  let directory: string;
  let store: StorageService;
  let storage: ByzerStorage;
  let documents: SeededDocument[];

  before(async () => {
    fixture = await startEmbeddingFixture('byzerllm-storage-');
    cluster = await fixture.llm.cluster();
    directory = path.join(fixture.root, 'storage');
    store = openLocalStore({ directory, cluster });
    storage = new ByzerStorage('byzerai_store', 'library', 'documents', { connection: store });
    assert.deepEqual(await store.call('createTable', { ...storage.location, schema: DOCUMENT_SCHEMA }), {
      created: true,
    });
    documents = seededDocuments(COUNT);
    // Two batches, so the second one meets rows already in the table.
    assert.equal(
      await storage.writeBuilder().addItems(documents.slice(0, 4000), ['vector'], ['content']).execute(),
      4000,
    );
    assert.equal(
      await storage.writeBuilder().addItems(documents.slice(4000), ['vector'], ['content']).execute(),
      COUNT - 4000,
    );
    assert.equal(await storage.commit(), true);
  });

  after(async () => {
    store?.close();
    await fixture?.close();
  });

  test('the table knows its schema, dimension (from the model) and rows', async () => {
    const description = await storage.describe();
    assert.equal(description.rows, COUNT);
    assert.equal(description.schema, DOCUMENT_SCHEMA);
    assert.deepEqual(description.vectorDimensions, { vector: (await storage.emb('probe')).length });
    assert.equal(
      await storage.schemaBuilder().addField('_id', DataType.STRING).execute(),
      false,
      'exists already',
    );
  });

  test('full-text queries find the documents with the words, English and Chinese', async () => {
    const [zebrafish] = await storage.queryBuilder().setSearchQuery('Zebrafish', ['content']).execute();
    assert.equal(zebrafish?._id, KNOWN.zebrafish.id);
    const capital = await storage
      .queryBuilder()
      .setSearchQuery('中国的首都在哪里', ['content'])
      .setLimit(5)
      .execute();
    assert.equal(capital[0]?._id, KNOWN.capital.id);
    assert.equal(capital[0]?.content, '北京 是 中国 的 首都', 'analyze fields are stored as their words');
    const translation = await storage.queryBuilder().setSearchQuery('机器翻译').execute();
    assert.deepEqual(
      translation.map((row) => row._id),
      [KNOWN.learning.id],
    );
    // A word every filler document has in some mix: many hits, each containing it.
    const coffee = await storage
      .queryBuilder()
      .setSearchQuery('咖啡')
      .setLimit(50)
      .setFields(['_id', 'content', '_score'])
      .execute();
    assert.equal(coffee.length, 50);
    for (const row of coffee) assert.match(String(row.content), /咖啡/);
    for (let index = 1; index < coffee.length; index++)
      assert.ok(Number(coffee[index - 1]!._score) >= Number(coffee[index]!._score));
    assert.deepEqual(await storage.queryBuilder().setSearchQuery('nonexistentword').execute(), []);
  });

  test('vector queries by text or vector find the document with that text first', async () => {
    for (const index of [0, 777, 9999]) {
      const [first] = await storage
        .queryBuilder()
        .setVectorQuery(documents[index]!.content, ['vector'])
        .setLimit(3)
        .execute();
      assert.equal(first?._id, `doc-${index}`);
      assert.ok(Math.abs(Number(first?._score) - 1) < 1e-4, `cosine similarity ${first?._score}`);
    }
    const vector = await storage.emb(documents[1234]!.content);
    const byVector = await storage
      .queryBuilder()
      .setVectorQuery(vector, ['vector'])
      .setLimit(1)
      .setFields(['_id'])
      .execute();
    assert.deepEqual(byVector, [{ _id: 'doc-1234' }]);
  });

  test('hybrid queries fuse both rankings: the text match and the vector match lead', async () => {
    const rows = await storage
      .queryBuilder()
      .setSearchQuery('zebrafish', ['content'])
      .setVectorQuery(documents[9000]!.content, ['vector'])
      .setLimit(5)
      .execute();
    assert.equal(rows.length, 5);
    assert.deepEqual(
      new Set(rows.slice(0, 2).map((row) => row._id)),
      new Set([KNOWN.zebrafish.id, 'doc-9000']),
    );
    assert.ok(Number(rows[0]!._score) >= Number(rows[2]!._score));
  });

  test('filters, sort, fields and limit hold', async () => {
    const physics = await storage
      .queryBuilder()
      .andFilter()
      .addCondition('topic', 'physics')
      .build()
      .setLimit(10_000)
      .setFields(['_id', 'topic'])
      .execute();
    assert.equal(physics.length, COUNT / TOPICS.length);
    assert.ok(physics.every((row) => row.topic === 'physics' && Object.keys(row).length === 2));

    const expected = documents
      .filter((document) => document.topic === 'music' && document.published)
      .sort((left, right) => right.rank - left.rank)
      .slice(0, 7)
      .map((document) => ({ _id: document._id, rank: document.rank }));
    const sorted = await storage
      .queryBuilder()
      .andFilter()
      .addCondition('topic', 'music')
      .addCondition('published', true)
      .build()
      .sort('rank', SortOption.DESC)
      .setFields(['_id', 'rank'])
      .setLimit(7)
      .execute();
    assert.deepEqual(sorted, expected);

    const either = await storage
      .queryBuilder()
      .orFilter()
      .addCondition('_id', 'doc-5')
      .addCondition('_id', 'doc-6')
      .build()
      .sort('score', SortOption.ASC)
      .execute();
    assert.deepEqual(
      either.map((row) => row._id),
      [documents[5]!, documents[6]!]
        .sort((left, right) => left.score - right.score)
        .map((document) => document._id),
    );
    assert.equal(
      either[0]!.raw,
      documents[Number(String(either[0]!._id).slice(4))]!.raw,
      'no_index fields are stored',
    );
    assert.equal((either[0]!.vector as number[]).length, (await storage.describe()).vectorDimensions.vector);

    // Search within a filter: only history documents, ranked by the text.
    const filtered = await storage
      .queryBuilder()
      .setSearchQuery('咖啡')
      .andFilter()
      .addCondition('topic', 'history')
      .build()
      .setLimit(20)
      .execute();
    assert.equal(filtered.length, 20);
    assert.ok(filtered.every((row) => row.topic === 'history'));
    assert.equal((await storage.queryBuilder().setLimit(3).execute()).length, 3);
  });

  test('bad queries and writes fail with one line naming the field, and change nothing', async () => {
    await assert.rejects(
      storage.queryBuilder().andFilter().addCondition('colour', 'red').build().execute(),
      failsWith('invalid_argument', 'colour', 'topic'),
    );
    await assert.rejects(
      storage.queryBuilder().andFilter().addCondition('rank', 'high').build().execute(),
      failsWith('invalid_argument', 'rank'),
    );
    await assert.rejects(
      storage.queryBuilder().andFilter().addCondition('content', 'x').build().execute(),
      failsWith('invalid_argument', 'content'),
    );
    await assert.rejects(
      storage.queryBuilder().sort('topic').execute(),
      failsWith('invalid_argument', 'topic', 'rank, score'),
    );
    await assert.rejects(
      storage.queryBuilder().setVectorQuery([1, 2, 3], ['vector']).execute(),
      failsWith('invalid_argument', '3 dimensions', 'vector'),
    );
    await assert.rejects(
      storage.queryBuilder().setSearchQuery('x', ['topic']).execute(),
      failsWith('invalid_argument', 'topic', 'content'),
    );

    const good = { ...documents[0]!, _id: 'new-1' };
    await assert.rejects(
      storage
        .writeBuilder()
        .addItems([good, { ...good, _id: 'new-2', colour: 'red' }], ['vector'])
        .execute(),
      failsWith('invalid_argument', 'item 1', 'colour'),
    );
    await assert.rejects(
      storage
        .writeBuilder()
        .addItem({ ...good, vector: [0.5, 0.5] })
        .execute(),
      failsWith('invalid_argument', 'vector', '2 dimensions'),
    );
    await assert.rejects(
      storage
        .writeBuilder()
        .addItem({ ...good, rank: 1.5 }, ['vector'])
        .execute(),
      failsWith('invalid_argument', 'rank'),
    );
    assert.equal((await storage.describe()).rows, COUNT, 'a failed batch leaves the table as it was');

    const missing = new ByzerStorage('byzerai_store', 'library', 'nothing', { connection: store });
    await assert.rejects(
      missing.writeBuilder().addItem({ _id: 'a' }).execute(),
      failsWith('not_found', 'no table nothing in byzerai_store/library'),
    );
    await assert.rejects(
      missing.queryBuilder().setSearchQuery('kanji').execute(),
      failsWith('not_found', 'no table nothing in byzerai_store/library'),
    );
  });

  test('a store reopened on the same folder (a head restart) has the same data', async () => {
    const reopened = openLocalStore({ directory, cluster });
    try {
      const again = new ByzerStorage('byzerai_store', 'library', 'documents', { connection: reopened });
      assert.equal((await again.describe()).rows, COUNT);
      const [capital] = await again.queryBuilder().setSearchQuery('首都').execute();
      assert.equal(capital?._id, KNOWN.capital.id);
      const [nearest] = await again
        .queryBuilder()
        .setVectorQuery(documents[321]!.content, ['vector'])
        .execute();
      assert.equal(nearest?._id, 'doc-321');
    } finally {
      reopened.close();
    }
  });

  test('delete by ids, by filter, truncate and drop', async () => {
    const scratch = new ByzerStorage('byzerai_store', 'library', 'scratch', { connection: store });
    assert.equal(
      await scratch
        .schemaBuilder()
        .addField('_id', DataType.LONG)
        .addField('kind', DataType.STRING)
        .addField('text', DataType.STRING, [FieldOption.ANALYZE])
        .addArrayField('vector', DataType.FLOAT)
        .execute(),
      true,
    );
    const items = documents.slice(0, 300).map((document, index) => ({
      _id: index,
      kind: document.topic,
      text: document.content,
      vector: document.content,
    }));
    assert.equal(await scratch.writeBuilder().addItems(items, ['vector'], ['text']).execute(), 300);
    assert.equal(await scratch.deleteByIds([0, 1, 2, 999]), 3);
    assert.equal(
      await scratch.queryBuilder().andFilter().addCondition('kind', 'physics').build().delete(),
      300 / TOPICS.length - 1,
    );
    assert.deepEqual(
      await scratch.queryBuilder().andFilter().addCondition('kind', 'physics').build().execute(),
      [],
    );
    assert.equal((await scratch.describe()).rows, 300 - 3 - (300 / TOPICS.length - 1));
    await assert.rejects(
      scratch.queryBuilder().setSearchQuery('x').delete(),
      failsWith('invalid_argument', 'filter'),
    );
    const remaining = (await scratch.describe()).rows;
    assert.equal(await scratch.truncateTable(), remaining, 'truncate answers how many rows it deleted');
    assert.equal((await scratch.describe()).rows, 0);
    assert.equal(
      await scratch.writeBuilder().addItem(items[5]!, ['vector']).execute(),
      1,
      'a truncated table takes writes',
    );
    assert.equal(await scratch.drop(), true);
    assert.equal(await scratch.drop(), false);
    await assert.rejects(scratch.describe(), failsWith('not_found', 'scratch'));
  });

  test('quickMemory keeps the original table shape, one row per memory', async () => {
    const memory = new ByzerStorage('byzerai_store', 'memory', 'memory', { connection: store });
    assert.equal(await memory.quickMemory(['我喜欢喝咖啡', 'the cat sleeps on the sofa']), 2);
    assert.equal(await memory.quickMemory(['我喜欢喝咖啡']), 1);
    const rows = await memory
      .queryBuilder()
      .setSearchQuery('咖啡')
      .setFields(['_id', 'name', 'raw_content'])
      .execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.raw_content, '我喜欢喝咖啡');
    assert.equal(rows[0]!.name, 'memory_memory');
    assert.match(String(rows[0]!._id), /^memory_memory_[0-9a-f]{32}$/);
    assert.equal((await memory.describe()).rows, 2);
    assert.match((await memory.describe()).schema, /field\(created_time,long,sort\)/);
  });
});
