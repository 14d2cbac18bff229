/**
 * bench/storage: write and query throughput of Byzer storage against LanceDB used directly, on the
 * same data, in one run (the target: ≥ 0.8× of direct LanceDB).
 *
 * - byzerllm: `ByzerStorage` builders over an in-process `StorageService` (zod checks, schema
 *   checks, word segmentation of the analyze field, filter building, rows back to plain JSON).
 * - lancedb:  the same LanceDB version, same Arrow schema and FTS index, given rows already in their
 *   stored shape (words segmented beforehand), queried with its own API (native RRF for hybrid).
 * Vectors are seeded and given as numbers to both, so no embedding model time is in either number
 * (it would be the same for both). Every batch and every query runs once per target in turn (the
 * order alternating), so load swings on a shared machine hit all targets alike; of three rounds the
 * median counts. `lancedb+segment` also segments the text inside the timing, as a LanceDB user with
 * Chinese text must.
 *
 * Run: npx tsc -p . && node dist/bench/storage/storage-bench.js [--documents 20000] [--queries 200]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import * as arrow from 'apache-arrow';
import { ByzerStorage, parseSchema, segmentText, StorageService } from '../../src/storage/index.js';
import { toArrowSchema } from '../../src/storage/arrow-schema.js';
import { seededDocuments, seededRandom } from '../../test/storage/storage-fixture.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const DOCUMENTS = argument('documents', 20_000);
const QUERIES = argument('queries', 200);
const DIMENSION = 128;
const BATCH = 1000;
const SCHEMA =
  'st(field(_id,string),field(topic,string),field(rank,long,sort),field(content,string,analyze),field(vector,array(float)))';

const random = seededRandom(99);
const documents = seededDocuments(DOCUMENTS).map(({ _id, topic, rank, content }) => ({
  _id,
  topic,
  rank,
  content,
  vector: Array.from({ length: DIMENSION }, () => random() - 0.5),
}));
const storedRows = documents.map((document) => ({ ...document, content: segmentText(document.content) }));
const textQueries = ['zebrafish', '咖啡 音乐', 'river stone', '中国 首都', 'cloud paper', '图书馆 老师'];
const queryVectors = Array.from({ length: 16 }, (_, index) => documents[(index * 997) % DOCUMENTS]!.vector);

interface Target {
  name: string;
  /** Writes the batch of documents that starts at `start`. */
  write(start: number): Promise<void>;
  fullText(text: string): Promise<unknown[]>;
  vector(vector: number[]): Promise<unknown[]>;
  hybrid(text: string, vector: number[]): Promise<unknown[]>;
  filter(topic: string): Promise<unknown[]>;
  reset(): Promise<void>;
}

async function byzerTarget(root: string): Promise<Target> {
  const store = new StorageService({ directory: root });
  const storage = new ByzerStorage('bench', 'db', 'docs', { connection: store });
  const reset = async () => {
    await storage.drop();
    await store.call('createTable', {
      ...storage.location,
      schema: SCHEMA,
      vectorDimensions: { vector: DIMENSION },
    });
  };
  await reset();
  return {
    name: 'byzerllm',
    reset,
    async write(start) {
      await storage
        .writeBuilder()
        .addItems(documents.slice(start, start + BATCH))
        .execute();
    },
    fullText: (text) => storage.queryBuilder().setSearchQuery(text, ['content']).setLimit(10).execute(),
    vector: (vector) => storage.queryBuilder().setVectorQuery(vector, ['vector']).setLimit(10).execute(),
    hybrid: (text, vector) =>
      storage
        .queryBuilder()
        .setSearchQuery(text, ['content'])
        .setVectorQuery(vector, ['vector'])
        .setLimit(10)
        .execute(),
    filter: (topic) =>
      storage.queryBuilder().andFilter().addCondition('topic', topic).build().setLimit(10).execute(),
  };
}

/**
 * `segmentInTiming`: the direct target segments the text itself while writing (the same work a
 * LanceDB user with Chinese text has to do); otherwise its rows are segmented before timing.
 */
async function directTarget(root: string, segmentInTiming: boolean): Promise<Target> {
  const connection = await lancedb.connect(root);
  const schema = toArrowSchema(arrow, parseSchema(SCHEMA), { vector: DIMENSION });
  const reranker = await lancedb.rerankers.RRFReranker.create(60);
  let table: lancedb.Table;
  const reset = async () => {
    if ((await connection.tableNames()).includes('docs')) await connection.dropTable('docs');
    table = await connection.createEmptyTable('docs', schema);
    await table.createIndex('content', {
      config: lancedb.Index.fts({ baseTokenizer: 'whitespace', stem: false, removeStopWords: false }),
    });
  };
  await reset();
  return {
    name: segmentInTiming ? 'lancedb+segment' : 'lancedb',
    reset,
    async write(start) {
      const batch = segmentInTiming
        ? documents.slice(start, start + BATCH).map((row) => ({ ...row, content: segmentText(row.content) }))
        : storedRows.slice(start, start + BATCH);
      await table.add(batch);
    },
    fullText: (text) => table.query().fullTextSearch(text, { columns: 'content' }).limit(10).toArray(),
    vector: (vector) =>
      table.query().nearestTo(vector).column('vector').distanceType('cosine').limit(10).toArray(),
    hybrid: (text, vector) =>
      table
        .query()
        .nearestTo(vector)
        .column('vector')
        .distanceType('cosine')
        .fullTextSearch(text)
        .rerank(reranker)
        .limit(10)
        .toArray(),
    filter: (topic) => table.query().where(`topic = '${topic}'`).limit(10).toArray(),
  };
}

type Measure = 'write rows/s' | 'full-text q/s' | 'vector q/s' | 'hybrid q/s' | 'filter q/s';
const MEASURES: Measure[] = ['write rows/s', 'full-text q/s', 'vector q/s', 'hybrid q/s', 'filter q/s'];

/** Wall-clock seconds, or CPU seconds of this process (every thread: LanceDB works in native threads). */
type Clock = 'wall' | 'cpu';
const CLOCKS: Clock[] = ['wall', 'cpu'];

function now(): Record<Clock, number> {
  const usage = process.cpuUsage();
  return { wall: performance.now() / 1000, cpu: (usage.user + usage.system) / 1e6 };
}

/**
 * Runs `count` steps, each step once per target (the order alternating), and answers steps per
 * second per target, by the wall clock and per CPU second: the machine's load swings hit every
 * target alike, and CPU time hardly depends on them (on a loaded machine the CPU ratio is the one
 * to trust; nothing else runs in this process while a step is timed).
 */
async function interleave(
  targets: Target[],
  count: number,
  run: (target: Target, index: number) => Promise<unknown>,
): Promise<Record<Clock, Map<string, number>>> {
  const spent = new Map(targets.map((target) => [target.name, { wall: 0, cpu: 0 }]));
  for (let index = 0; index < count; index++) {
    for (const target of index % 2 === 0 ? targets : [...targets].reverse()) {
      const started = now();
      await run(target, index);
      const ended = now();
      const total = spent.get(target.name)!;
      for (const clock of CLOCKS) total[clock] += ended[clock] - started[clock];
    }
  }
  const rates = (clock: Clock) =>
    new Map([...spent].map(([name, seconds]) => [name, count / seconds[clock]]));
  return { wall: rates('wall'), cpu: rates('cpu') };
}

type Result = Record<Clock, Record<Measure, number>>;

async function round(targets: Target[]): Promise<Map<string, Result>> {
  for (const target of targets) await target.reset();
  const writes = await interleave(targets, Math.ceil(DOCUMENTS / BATCH), (target, index) =>
    target.write(index * BATCH),
  );
  await interleave(targets, 20, (target, index) =>
    target.hybrid(textQueries[index % 6]!, queryVectors[index % 16]!),
  ); // warm
  const text = (index: number) => textQueries[index % textQueries.length]!;
  const vector = (index: number) => queryVectors[index % queryVectors.length]!;
  const measured: Record<Measure, Record<Clock, Map<string, number>>> = {
    'write rows/s': {
      wall: new Map([...writes.wall].map(([name, batches]) => [name, batches * BATCH])),
      cpu: new Map([...writes.cpu].map(([name, batches]) => [name, batches * BATCH])),
    },
    'full-text q/s': await interleave(targets, QUERIES, (target, index) => target.fullText(text(index))),
    'vector q/s': await interleave(targets, QUERIES, (target, index) => target.vector(vector(index))),
    'hybrid q/s': await interleave(targets, QUERIES, (target, index) =>
      target.hybrid(text(index), vector(index)),
    ),
    'filter q/s': await interleave(targets, QUERIES, (target, index) =>
      target.filter(['physics', 'music', 'history'][index % 3]!),
    ),
  };
  const resultOf = (name: string, clock: Clock) =>
    Object.fromEntries(MEASURES.map((measure) => [measure, measured[measure][clock].get(name)!])) as Record<
      Measure,
      number
    >;
  return new Map(
    targets.map((target) => [
      target.name,
      { wall: resultOf(target.name, 'wall'), cpu: resultOf(target.name, 'cpu') },
    ]),
  );
}

function printTable(clock: Clock, medianOf: (name: string, measure: Measure) => number): void {
  console.log(clock === 'wall' ? '\nWall clock (per second):' : '\nPer CPU second of this process:');
  console.log(
    '\n| measure | byzerllm / lancedb | byzerllm / lancedb+segment | byzerllm | lancedb | lancedb+segment |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const measure of MEASURES) {
    const [ours, direct, segmented] = ['byzerllm', 'lancedb', 'lancedb+segment'].map((name) =>
      medianOf(name, measure),
    ) as [number, number, number];
    const cells = [ours / direct, ours / segmented].map((ratio) => ratio.toFixed(2));
    console.log(
      `| ${measure} | ${cells.join(' | ')} | ${[ours, direct, segmented].map((value) => value.toFixed(0)).join(' | ')} |`,
    );
  }
}

const median = (values: number[]) =>
  [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-storage-bench-'));
  try {
    const targets = [
      await byzerTarget(path.join(root, 'byzer')),
      await directTarget(path.join(root, 'direct'), false),
      await directTarget(path.join(root, 'direct-segment'), true),
    ];
    const results = new Map<string, Result[]>(targets.map((target) => [target.name, []]));
    for (let index = 0; index < 3; index++) {
      for (const [name, result] of await round(targets)) results.get(name)!.push(result);
    }
    console.log(
      `Node ${process.version}, ${os.cpus().length} CPUs, ${DOCUMENTS} documents, ${QUERIES} queries per kind, load ${os
        .loadavg()
        .map((value) => value.toFixed(1))
        .join(' ')}`,
    );
    for (const clock of CLOCKS) {
      printTable(clock, (name, measure) =>
        median(results.get(name)!.map((result) => result[clock][measure])),
      );
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
