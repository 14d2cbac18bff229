/** The exact-match response cache: least recently used out first, entries expire, hits and misses counted. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseCache } from '../../src/cluster/index.js';

test('evicts the least recently used entry and expires entries after their TTL', () => {
  let now = 0;
  const cache = new ResponseCache<string>({ ttlMs: 1000, maxEntries: 2 }, () => now);
  cache.set('a', 'A');
  cache.set('b', 'B');
  assert.equal(cache.get('a'), 'A');
  cache.set('c', 'C');
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.equal(cache.get('a'), 'A');
  assert.equal(cache.size, 2);
  now = 999;
  assert.equal(cache.get('c'), 'C');
  now = 1000;
  assert.equal(cache.get('c'), undefined);
  assert.equal(cache.size, 1);
  assert.deepEqual({ hits: cache.hits, misses: cache.misses }, { hits: 3, misses: 2 });
});
