/**
 * Routes by name in SQL, with their fallback behaviour (real DuckDB, a loopback OpenAI upstream,
 * a deployment nothing answers for): a route's name is a model function like a deployment's, and
 * `llm('route', …)` takes it too; each call falls back from the dead target to the one that
 * answers. In-process (a `SqlSession` over the head's routed cluster and its routes) and as users
 * run it (`byzerllm route set`, then `byzerllm sql -e` against the real head).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRoutedCluster, Governance } from '../../src/cluster/index.js';
import { createPredictHandler, SqlSession } from '../../src/sql/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import { type SqlFixture, startSqlFixture } from './sql-fixture.js';

const ROUTE = 'chat/sql';
/** Nothing listens on port 1: every call to this base URL fails at once (connection refused). */
const DEAD_URL = 'http://127.0.0.1:1/v1';
const FALLBACK = { strategy: 'fallback', targets: [{ deployment: 'dead' }, { deployment: 'steady' }] };

describe('routes by name in SQL', () => {
  let fixture: SqlFixture;
  let governance: Governance;
  let session: SqlSession;

  before(async () => {
    fixture = await startSqlFixture({ steady: [1, 4] });
    await fixture.head.deploy({
      name: 'dead',
      pretrainedModelType: 'saas/openai',
      inferParams: { ...fixture.inferParams, 'saas.base_url': DEAD_URL },
    });
    governance = new Governance();
    // What the head process gives `/model/predict`: the routed cluster, which lists its routes.
    session = new SqlSession({ cluster: createRoutedCluster(fixture.head, governance) });
  });
  after(async () => {
    await session?.close();
    await fixture?.close();
  });

  test('a route is a model function and an llm() name; every row falls back to the target that answers', async () => {
    const query = `select name,
        llm_result("${ROUTE}"(llm_param(map('instruction', 'hi ' || name)))) as hi,
        llm('${ROUTE}', 'bye ' || name) as bye
      from (values ('Ann'), ('Bob'), ('Cy')) people(name) order by name`;
    // Before the route exists its name is no function; set afterwards, it is found by the next
    // statement (the session lists models again when a called name is unknown).
    await assert.rejects(session.run(query), /chat\/sql/);
    await governance.set(ROUTE, FALLBACK);
    const rows = await session.run(query);
    assert.deepEqual(rows, [
      { name: 'Ann', hi: 'echo: hi Ann', bye: 'echo: bye Ann' },
      { name: 'Bob', hi: 'echo: hi Bob', bye: 'echo: bye Bob' },
      { name: 'Cy', hi: 'echo: hi Cy', bye: 'echo: bye Cy' },
    ]);
    assert.ok(session.modelFunctions().includes(ROUTE), session.modelFunctions().join(', '));
    const targets = Object.fromEntries(governance.stat().targets.map((view) => [view.deployment, view]));
    // Meta (which registers the function) goes through the route too, and answers without the upstream.
    assert.ok((targets.steady?.successes ?? 0) >= 6, 'every call was answered by the second target');
    assert.ok((targets.dead?.failures ?? 0) >= 1, 'the first target was tried and failed');
    assert.equal(fixture.chatMessages().length, 6);
  });

  test("Byzer's /model/predict over the routed cluster calls the route (set above) by name", async () => {
    const predict = createPredictHandler(createRoutedCluster(fixture.head, governance));
    const rows = (await predict(
      { sql: `select "${ROUTE}"(array(feature)) as value`, data: '[{"instruction":"predict hi"}]' },
      new AbortController().signal,
    )) as { value: string[] }[];
    assert.equal(rows.length, 1);
    assert.equal((JSON.parse(rows[0]!.value[0]!) as { output: string }).output, 'echo: predict hi');
  });
});

describe('routes by name in byzerllm sql (real CLI and head)', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;

  before(async () => {
    home = await createTestHome();
    upstream = await startOpenAIUpstream();
    for (const [name, url] of [
      ['steady', upstream.url],
      ['dead', DEAD_URL],
    ]) {
      const deployed = await home.run([
        'deploy',
        '--pretrained_model_type',
        'saas/openai',
        '--infer_params',
        `saas.api_key=${upstream.apiKey}`,
        `saas.base_url=${url}`,
        'saas.model=echo',
        'saas.max_retries=0',
        '--model',
        name!,
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
    }
    const file = path.join(home.home, 'route.json');
    await fs.writeFile(file, JSON.stringify(FALLBACK));
    const set = await home.run(['route', 'set', ROUTE, '--file', file]);
    assert.equal(set.code, 0, set.stderr);
  });
  after(async () => {
    await home?.cleanup();
    await upstream?.close();
  });

  test('byzerllm sql -e calls a route by name (Byzer backticks) and through llm(), falling back', async () => {
    const result = await home.run([
      'sql',
      '--output',
      'json',
      '-e',
      `select llm_result(\`${ROUTE}\`(llm_param(map("instruction", 'hello route')))) as routed,
              llm('${ROUTE}', 'and again') as generic`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [
      { routed: 'echo: hello route', generic: 'echo: and again' },
    ]);
    const stat = await home.run(['route', 'stat']);
    type Stat = { targets: { deployment: string; failures: number }[] };
    const failed = (JSON.parse(stat.stdout) as Stat).targets.filter((view) => view.failures > 0);
    assert.deepEqual(
      failed.map((view) => view.deployment),
      ['dead'],
      'the dead target was tried first and failed',
    );
    const chats = upstream.requests.filter((request) => request.path === '/v1/chat/completions');
    assert.equal(chats.length, 2, 'each call was answered once, by the second target');
  });
});
