/**
 * Writes build their Arrow columns directly (arrow-columns.ts): every field type, with nulls, long
 * strings and non-ASCII text, must come back from a real LanceDB table exactly as written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { StorageService } from '../../src/storage/index.js';

const location = { cluster: 'byzerai_store', database: 'types', table: 'every' };
const SCHEMA =
  'st(field(_id,string),field(name,string),field(count,long,sort),field(ratio,float),field(exact,double),' +
  'field(flag,boolean),field(tags,array(string)),field(sizes,array(long)),field(meta,map(string,long)),' +
  'field(place,st(field(city,string),field(floor,long))),field(text,string,analyze),field(vector,array(float)))';

let root: string;
let store: StorageService;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-arrow-columns-'));
  store = new StorageService({ directory: root });
  await store.call('createTable', { ...location, schema: SCHEMA, vectorDimensions: { vector: 3 } });
});
after(async () => {
  store.close();
  await fs.rm(root, { recursive: true, force: true });
});

test('every field type round-trips through the Arrow columns a write builds, nulls included', async () => {
  const full = {
    _id: 'full',
    name: 'Grüße 北京 🚀',
    count: 2 ** 40 + 3,
    ratio: 0.25,
    exact: 1 / 3,
    flag: true,
    tags: ['a', 'β', ''],
    sizes: [1, -2, 3],
    meta: { x: 1, y: 2 },
    place: { city: '上海', floor: 12 },
    text: 'Hello 世界 again',
    vector: [0.5, -1.25, 3],
  };
  const empty = { _id: 'empty' };
  const long = { _id: 'long', name: 'x'.repeat(100_000), flag: false, vector: [1, 2, 3] };
  const written = await store.call('write', {
    ...location,
    items: [full, empty, long],
    vectorFields: [],
    searchFields: [],
  });
  assert.deepEqual(written, { written: 3 });
  const { rows } = await store.call('query', {
    ...location,
    limit: 10,
    sort: [{ field: 'count', order: 'asc' }],
  });
  const byId = new Map(rows.map((row) => [row._id, row]));
  assert.deepEqual(byId.get('full'), { ...full, text: 'hello 世界 again' });
  assert.deepEqual(byId.get('empty'), {
    _id: 'empty',
    name: null,
    count: null,
    ratio: null,
    exact: null,
    flag: null,
    tags: null,
    sizes: null,
    meta: null,
    place: null,
    text: null,
    vector: null,
  });
  assert.equal(String(byId.get('long')?.name).length, 100_000);
  assert.equal(byId.get('long')?.flag, false);
  const [found] = (
    await store.call('query', {
      ...location,
      searchQuery: { text: '世界', fields: ['text'] },
      fields: ['_id'],
    })
  ).rows;
  assert.deepEqual(found, { _id: 'full' });
});
