/**
 * 1,000 malformed schemas, queries, writes and deletes (seeded, each malformed by construction)
 * against a real LanceDB store: every one is refused with an `invalid_argument` or `not_found`
 * `ByzerLLMError` of one line, and the table is unchanged and still answers afterwards.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ByzerLLMError } from '../../src/core/index.js';
import { formatSchema, parseSchema, StorageService } from '../../src/storage/index.js';
import { seededRandom } from './storage-fixture.js';

const location = { cluster: 'byzerai_store', database: 'fuzz', table: 'items' };
const SCHEMA =
  'st(field(_id,string),field(kind,string),field(size,long,sort),field(text,string,analyze),field(note,string,no_index),field(tags,array(string)),field(meta,map(string,long)),field(vector,array(float)))';
const DIMENSION = 4;

let root: string;
let store: StorageService;
const random = seededRandom(15);
const integer = (limit: number) => Math.floor(random() * limit);
const pick = <Item>(items: readonly Item[]): Item => items[integer(items.length)]!;
const junk = () =>
  pick(['zz', 'colour', 'strnig', 'arr', 'Long', '数据', '', ' ', '1abc', 'a-b', "x'y", '`', 'field', 'st']);

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-storage-fuzz-'));
  store = new StorageService({ directory: root });
  await store.call('createTable', { ...location, schema: SCHEMA, vectorDimensions: { vector: DIMENSION } });
  const items = Array.from({ length: 50 }, (_, index) => ({
    _id: `item-${index}`,
    kind: index % 2 === 0 ? 'even' : 'odd',
    size: index,
    text: `word${index} common`,
    note: 'n',
    tags: ['a'],
    meta: { index },
    vector: [index, 1, 0, 0],
  }));
  await store.call('write', { ...location, items });
});

after(async () => {
  store?.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** Schema strings (or non-strings) that are wrong by construction. */
function malformedSchema(): unknown {
  const fields = [
    'field(_id,string)',
    'field(body,string,analyze)',
    'field(count,long,sort)',
    'field(v,array(float))',
  ];
  const valid = `st(${fields.join(',')})`;
  switch (integer(14)) {
    case 0:
      return valid.slice(0, integer(valid.length - 1)); // the closing ) is always cut
    case 1:
      return valid.replace('long', pick(['integer', 'int64', 'text', 'LONG', 'array', 'map']));
    case 2:
      return valid.replace('analyze', pick(['analyse', 'index', 'unique', 'ANALYZE']));
    case 3:
      return valid.replace('count', pick(['1count', 'co-unt', '数量', 'a b', '']));
    case 4:
      return `st(${fields.join(',')},field(body,long))`;
    case 5:
      return `st(${fields.slice(1).join(',')})`;
    case 6:
      return valid.replace(
        'field(_id,string)',
        pick(['field(_id,double)', 'field(_id,array(string))', 'field(_id,string,sort)']),
      );
    case 7:
      return valid.replace(
        'field(count,long,sort)',
        pick([
          'field(count,long,analyze)',
          'field(count,array(long),sort)',
          'field(count,long,no_index,sort)',
        ]),
      );
    case 8: {
      const depth = 9 + integer(40);
      return `st(field(_id,string),field(deep,${'st(field(x,'.repeat(depth)}string${'))'.repeat(depth)}))`;
    }
    case 9:
      return pick([42, null, true, ['st'], { fields: [] }, undefined]);
    case 10:
      return `${valid}${pick([')', 'x', ',', ' st(field(a,string))'])}`;
    case 11:
      return pick([
        'st()',
        'st',
        '',
        'field(_id,string)',
        'st(field())',
        'st(field(_id))',
        'st(field(_id,))',
      ]);
    case 12:
      return `st(field(_id,string),field(m,map(${pick(['array(string)', 'st(field(a,string))', 'map(string,long)'])},long)))`;
    default:
      return `st(field(_id,string),${'field(f,string),'.repeat(2 + integer(3))}field(g,string))`;
  }
}

/** Query bodies that are wrong by construction. */
function malformedQuery(): unknown {
  const base = { ...location };
  switch (integer(16)) {
    case 0:
      return { ...base, filter: { and: [{ field: junk() || 'colour', value: 'x' }] } };
    case 1:
      return { ...base, filter: { and: [{ field: 'size', value: pick(['big', true, 1.5, 2 ** 60]) }] } };
    case 2:
      return {
        ...base,
        filter: { or: [{ field: pick(['text', 'note', 'tags', 'meta', 'vector']), value: 'a' }] },
      };
    case 3:
      return { ...base, sort: [{ field: pick(['kind', 'text', 'nope']), order: 'asc' }] };
    case 4:
      return { ...base, sort: [{ field: 'size', order: pick(['up', 'DESC', '', 1]) }] };
    case 5:
      return { ...base, limit: pick([0, -1, 1.5, 10_001, '10', null]) };
    case 6:
      return {
        ...base,
        vectorQuery: {
          vector: Array.from({ length: pick([1, 3, 5, 64]) }, () => random()),
          fields: ['vector'],
        },
      };
    case 7:
      return {
        ...base,
        vectorQuery: pick([
          { fields: ['vector'] },
          { text: 'a', vector: [1, 2, 3, 4], fields: ['vector'] },
          { vector: [1, 0, 0, 0], fields: [] },
          { vector: [1, 0, 0, 0], fields: ['kind'] },
        ]),
      };
    case 8:
      return { ...base, vectorQuery: { text: 'needs an embedding model', fields: ['vector'] } };
    case 9:
      return { ...base, fields: [pick(['colour', 'Kind', '', 'vector2'])] };
    case 10:
      return {
        ...base,
        searchQuery: { text: 'word1', fields: [pick(['kind', 'note', 'vector', 'unknown'])] },
      };
    case 11:
      return { ...base, [pick(['where', 'Limit', 'query', '__proto__x'])]: 1 };
    case 12:
      return pick([
        { ...base, filter: { and: [] } },
        { ...base, filter: { xor: [{ field: 'kind', value: 'a' }] } },
        { ...base, filter: { and: [{ field: 'kind' }] } },
        { ...base, filter: { and: [{ field: 'kind', value: { $ne: 1 } }] } },
        { ...base, filter: 'kind = even' },
      ]);
    case 13: {
      let filter: unknown = { field: 'kind', value: 'even' };
      for (let depth = 0; depth < 40 + integer(5000); depth++) filter = { and: [filter] };
      return { ...base, filter };
    }
    case 14:
      return { ...base, table: pick(['../items', 'items/../../x', '', '-x', 'a b', '表', 'x'.repeat(200)]) };
    default:
      return pick([
        null,
        'query',
        [base],
        17,
        { ...base, table: 'missing_table' },
        { cluster: 'byzerai_store' },
      ]);
  }
}

/** Writes and deletes that are wrong by construction. */
function malformedChange(): [string, unknown] {
  const item = { _id: `new-${integer(1e6)}`, kind: 'k', size: 1, text: 't', vector: [1, 0, 0, 0] };
  switch (integer(8)) {
    case 0:
      return ['write', { ...location, items: [item, { ...item, [junk() || 'colour']: 1 }] }];
    case 1:
      return ['write', { ...location, items: [item, { ...item, size: pick(['1', 1.5, true, [1]]) }] }];
    case 2:
      return [
        'write',
        {
          ...location,
          items: [item, { ...item, vector: pick([[1, 2], 'text', [1, 'a', 0, 0], [1, 0, 0, 0, 0]]) }],
        },
      ];
    case 3:
      return ['write', { ...location, items: [{ ...item, _id: pick([null, undefined, 5, {}]) }] }];
    case 4:
      return [
        'write',
        { ...location, items: [{ ...item, meta: pick([[1], 'm', { a: 'x' }]), tags: pick(['a', [1]]) }] },
      ];
    case 5:
      return ['write', { ...location, items: [item], vectorFields: [pick(['kind', 'vector2', 'text'])] }];
    case 6:
      return ['deleteByIds', { ...location, ids: pick([[], [{}], 'item-1', [1.5]]) }];
    default:
      return [
        pick(['deleteByFilter', 'truncate', 'drop', 'nonsense', 'constructor']),
        pick([{ ...location, filter: {} }, { ...location, table: '..' }, null]),
      ];
  }
}

test('1,000 malformed schemas, queries and changes are refused with one-line errors, never a crash', async () => {
  const codes = new Map<string, number>();
  const inputs: [string, unknown][] = [];
  for (let index = 0; index < 400; index++)
    inputs.push(['createTable', { ...location, table: `t${index}`, schema: malformedSchema() }]);
  for (let index = 0; index < 400; index++) inputs.push(['query', malformedQuery()]);
  for (let index = 0; index < 200; index++) inputs.push(malformedChange());
  for (const [operation, body] of inputs) {
    const outcome = await store.call(operation as 'query', body as never).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    assert.ok('error' in outcome, `${operation} ${JSON.stringify(body)?.slice(0, 300)} was accepted`);
    const error = outcome.error;
    assert.ok(error instanceof ByzerLLMError, `${operation}: ${String(error)}`);
    assert.ok(
      ['invalid_argument', 'not_found'].includes(error.code),
      `${operation}: ${error.code} ${error.message}`,
    );
    assert.ok(!error.message.includes('\n') && error.message.length < 2000, error.message);
    codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
  }
  assert.equal(inputs.length, 1000);
  assert.ok((codes.get('invalid_argument') ?? 0) > 900, JSON.stringify([...codes]));

  const { tables } = await store.call('listTables', { cluster: 'byzerai_store' });
  assert.deepEqual(tables, [location], 'no malformed schema created a table');
  assert.equal(
    (await store.call('describeTable', location)).rows,
    50,
    'no malformed change wrote or deleted',
  );
  const { rows } = await store.call('query', {
    ...location,
    searchQuery: { text: 'word7', fields: [] },
    fields: ['_id'],
  });
  assert.deepEqual(rows, [{ _id: 'item-7' }]);
});

test('the schema string form round-trips through parse and format', () => {
  assert.equal(formatSchema(parseSchema(SCHEMA)), SCHEMA);
  const nested =
    'st(field(_id,long),field(owner,st(field(name,string),field(tags,array(string)))),field(m,map(string,array(double))))';
  assert.deepEqual(parseSchema(nested).fields[1]!.type, {
    kind: 'struct',
    fields: [
      { name: 'name', type: { kind: 'scalar', type: 'string' }, options: [] },
      { name: 'tags', type: { kind: 'array', element: { kind: 'scalar', type: 'string' } }, options: [] },
    ],
  });
  assert.equal(formatSchema(parseSchema(` ${nested.replaceAll(',', ' , ')} `)), nested);
});
