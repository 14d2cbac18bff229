/**
 * The web console end to end: the real CLI starts a real head and `byzerllm console` (with an API
 * key), a loopback OpenAI upstream stands in for the provider, and Debian's chromium drives the page.
 * Screenshots of every page at 1280×800 and at phone width go to dist/test-output/console.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { connectCluster, HeadClient, readHeadFile } from '../../src/cluster/index.js';
import { ByzerStorage, DataType, FieldOption } from '../../src/storage/index.js';
import { startConsole } from '../../src/server/index.js';
import { ensureTinyHfModel } from '../../src/train/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { launchChromium, openWatchedPage, type WatchedPage } from '../support/console-browser.js';
import {
  OUTPUT,
  PNG,
  recordValues,
  saveEveryPage,
  saveEveryWidth,
  startConsoleCommand,
  stopChild,
  WIDTHS,
  watchRequestCountRise,
} from '../support/console-pages.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const CONSOLE_KEY = 'console-test-key';

describe('web console', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;
  let consoleProcess: ChildProcess | undefined;
  let browser: Browser;
  let consoleUrl: string;
  const opened: WatchedPage[] = [];

  before(async () => {
    await mkdir(OUTPUT, { recursive: true });
    home = await createTestHome();
    // Pieces 40 ms apart, so the page can be seen growing while the answer streams.
    upstream = await startOpenAIUpstream({
      chunkDelayMs: 40,
      reply: (text) => `echo: ${text} one two three four five`,
    });
    const started = await startConsoleCommand(home, ['--console_port', '0', '--api_key', 'env:CONSOLE_KEY'], {
      CONSOLE_KEY,
    });
    consoleProcess = started.child;
    assert.match(started.firstLine, /log in with the API key/);
    const url = started.url;
    consoleUrl = url;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (consoleProcess) await stopChild(consoleProcess);
    await home?.cleanup();
    await upstream?.close();
  });

  async function signedInPage(
    viewport: { width: number; height: number },
    colorScheme: 'light' | 'dark' = 'light',
  ): Promise<WatchedPage> {
    const watched = await openWatchedPage(browser, viewport, colorScheme);
    opened.push(watched);
    await watched.page.goto(consoleUrl);
    await watched.page.getByLabel('API key').fill(CONSOLE_KEY);
    await watched.page.getByRole('button', { name: 'Log in' }).click();
    await watched.page.getByRole('heading', { level: 1, name: 'Cluster' }).waitFor();
    return watched;
  }

  test('the API answers nothing before login, and a wrong key is refused on the login page', async () => {
    const refused = await fetch(`${consoleUrl}console/api/events`);
    assert.equal(refused.status, 401);
    const { page, problems } = await openWatchedPage(browser, WIDTHS[0]!.viewport);
    await page.goto(consoleUrl);
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not the one this console was started with' }).waitFor();
    assert.equal(await page.getByLabel('API key').getAttribute('aria-invalid'), 'true');
    await page.screenshot({ path: path.join(OUTPUT, 'login-desktop.png') });
    await page.getByLabel('API key').fill(CONSOLE_KEY);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 2, name: /^Node / }).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('deploys saas/openai from the form after showing field errors, chats with it streaming, counts its requests, undeploys it', async () => {
    const { page, problems } = await signedInPage(WIDTHS[0]!.viewport);
    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByLabel('Name').fill('bad name!');
    await page.getByLabel('Workers').fill('0');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const nameError = page.locator('#deploy-name-error');
    await nameError.waitFor();
    assert.match((await nameError.textContent()) ?? '', /deployment name is 1-128 letters/);
    assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    assert.match(
      (await page.locator('#deploy-numWorkers-error').textContent()) ?? '',
      />=1|at least|too small/i,
    );

    await page.getByLabel('Name').fill('chat');
    await page.getByLabel('Workers').fill('1');
    await page
      .getByLabel(/Infer params/)
      .fill(
        [
          `saas.api_key=${upstream.apiKey}`,
          `saas.base_url=${upstream.url}`,
          'saas.model=m',
          'saas.vision=true',
        ].join('\n'),
      );
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: 'chat' }).waitFor();
    assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), null);

    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('System prompt').fill('Answer briefly.');
    await page.getByLabel('Max tokens').fill('64');
    const seen = await recordValues(page, '.turn.assistant .content');
    await page.getByLabel('Message').fill('hello console');
    await page.getByRole('button', { name: 'Send' }).click();
    const finalText = 'echo: hello console one two three four five';
    await page.locator('.turn.assistant .content', { hasText: finalText }).waitFor();
    const texts = await seen();
    const partial = texts.filter((text) => text !== '' && text !== finalText);
    assert.ok(partial.length >= 2, `the answer grew piece by piece: ${JSON.stringify(texts)}`);
    for (const text of partial) assert.ok(finalText.startsWith(text), `${text} is a prefix of the answer`);
    const sent = upstream.requests.at(-1)!.body as {
      messages: { role: string }[];
      max_tokens?: number;
      max_completion_tokens?: number;
    };
    assert.deepEqual(
      sent.messages.map((message) => message.role),
      ['system', 'user'],
    );
    assert.match((await page.locator('.snippet pre').first().textContent()) ?? '', /"max_tokens": 64/);
    const typeScript = (await page.locator('.snippet pre').nth(1).textContent()) ?? '';
    assert.match(typeScript, /llm\.streamChatOai\(/);
    assert.match(typeScript, /"max_length":64/);

    // An image attached to the next message reaches the upstream as an OpenAI image_url part.
    await page
      .getByLabel('Attach images')
      .setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await page.getByText('1 image attached to the next message').waitFor();
    await page.getByLabel('Message').fill('what is in it?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.turn.assistant .content', { hasText: 'echo: what is in it?' }).waitFor();
    await page.locator('img.attached').waitFor();
    const withImage = upstream.requests.at(-1)!.body as {
      messages: { role: string; content: string | { type: string; image_url?: { url: string } }[] }[];
    };
    const lastContent = withImage.messages.at(-1)!.content;
    assert.ok(Array.isArray(lastContent), 'the message went as parts');
    assert.deepEqual(
      lastContent.find((part) => part.type === 'image_url')?.image_url?.url,
      `data:image/png;base64,${PNG.toString('base64')}`,
    );

    await page.getByRole('link', { name: 'Deployments' }).click();
    // Two chats and the Playground's one meta read (which deployments chat).
    await page.locator('tr[data-worker="0"] .requests', { hasText: /^3$/ }).waitFor();
    await watchRequestCountRise(page, home);
    await page.getByText('Model meta').click();
    await page.locator('.meta dd', { hasText: 'saas' }).first().waitFor();
    assert.match((await page.locator('.meta').textContent()) ?? '', /support_stream/);

    await saveEveryPage(page, 'desktop');
    // The phone pass runs in the dark theme, so both themes are seen.
    const phone = await signedInPage(WIDTHS[1]!.viewport, 'dark');
    await saveEveryPage(phone.page, 'phone');
    assert.deepEqual(phone.problems, []);

    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByRole('button', { name: 'Undeploy chat' }).click();
    const dialog = page.getByRole('dialog', { name: 'Undeploy chat?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Undeploy' }).click();
    await page.getByText('Nothing is deployed yet').waitFor();
    const list = await home.run(['list', '--json']);
    assert.doesNotMatch(list.stdout, /"chat"/);
    assert.deepEqual(problems, []);
  });

  test('runs a notebook with a SQL cell and a chat cell, saved on the head: a reload shows it again', async () => {
    const deployed = await home.run([
      'deploy',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      `saas.api_key=${upstream.apiKey}`,
      `saas.base_url=${upstream.url}`,
      'saas.model=m',
      '--model',
      'notebook_chat',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const { page, problems } = await signedInPage(WIDTHS[0]!.viewport);
    await page.getByRole('link', { name: 'Notebook' }).click();
    await page.getByLabel(/^Cell 1 \(SQL/).fill('select 1+1 as two');
    await page.getByRole('button', { name: 'Run cell 1' }).click();
    const firstCell = page.getByRole('region', { name: 'Cell 1' });
    await firstCell.locator('th', { hasText: 'two' }).waitFor();
    assert.equal(await firstCell.locator('td').first().textContent(), '2');

    await page.getByRole('button', { name: 'Add chat cell' }).click();
    const chatSource = page.getByLabel(/^Cell 2 \(chat/);
    assert.match(await chatSource.inputValue(), /^--%chat\n--%model=\w+\n\n$/);
    await chatSource.fill('--%chat\n--%model=notebook_chat\n\nhello notebook');
    await page.getByRole('button', { name: 'Run cell 2' }).click();
    const answer = page.getByRole('region', { name: 'Cell 2' }).locator('.chat-answer');
    await answer.waitFor();
    assert.match((await answer.textContent()) ?? '', /^echo: hello notebook/);
    await saveEveryWidth(page, 'notebook');

    // The file on the head: the cells and results, readable only by the user.
    const file = path.join(home.home, 'notebooks', 'console.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { cells: { source: string }[] };
    assert.deepEqual(
      saved.cells.map((cell) => cell.source.split('\n').at(-1)),
      ['select 1+1 as two', 'hello notebook'],
    );

    await page.reload();
    await page.getByRole('link', { name: 'Notebook' }).click();
    assert.equal(await page.getByLabel(/^Cell 1 \(SQL/).inputValue(), 'select 1+1 as two');
    await page.getByRole('region', { name: 'Cell 1' }).locator('th', { hasText: 'two' }).waitFor();
    assert.match(
      (await page.getByRole('region', { name: 'Cell 2' }).locator('.chat-answer').textContent()) ?? '',
      /hello notebook/,
    );
    // The Playground offers chat deployments only: a text-to-speech one is left out.
    const voice = await home.run([
      'deploy',
      ...['--pretrained_model_type', 'saas/openai', '--model', 'notebook_voice', '--infer_params'],
      ...[`saas.api_key=${upstream.apiKey}`, `saas.base_url=${upstream.url}`, 'saas.model=tts-1'],
    ]);
    assert.equal(voice.code, 0, voice.stderr);
    await page.getByRole('link', { name: 'Playground' }).click();
    const options = page.locator('#chat-deployment option');
    await options.filter({ hasText: 'notebook_chat' }).waitFor({ state: 'attached' });
    assert.equal(await options.filter({ hasText: 'notebook_voice' }).count(), 0);
    // Left out for what its meta says, not because the meta could not be read.
    const voiceMeta = await page.request.get(`${consoleUrl}console/api/deployments/notebook_voice/meta`);
    assert.equal(((await voiceMeta.json()) as { primary_task?: string }).primary_task, 'speech');
    assert.deepEqual(problems, []);
    await page.context().close();
    assert.equal((await home.run(['undeploy', '--model', 'notebook_voice'])).code, 0);
    assert.equal((await home.run(['undeploy', '--model', 'notebook_chat'])).code, 0);
  });

  test('a training job started while the Jobs page is open: its loss chart gains points live, then it succeeds', async () => {
    const { page, problems } = await signedInPage(WIDTHS[0]!.viewport);
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByText('No training jobs yet').waitFor();
    const seen = await recordValues(page, '.chart svg', 'data-points');
    const base = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
    const data = path.join(home.home, 'train.jsonl');
    await writeFile(
      data,
      ['red', 'green', 'blue', 'white']
        .map((colour) => JSON.stringify({ instruction: colour, output: `a ${colour} sky` }))
        .join('\n'),
    );
    const started = await home.run([
      'finetune',
      ...['--model_path', base, '--data', data, '--name', 'console_job', '--num_workers', '1'],
      ...['--batch_size', '2', '--max_steps', '200', '--warmup_steps', '0', '--save_steps', '1000'],
    ]);
    assert.equal(started.code, 0, started.stderr);
    await page.getByRole('button', { name: 'console_job' }).waitFor();
    const chart = page.getByRole('img', { name: /^Loss of console_job over/ });
    // The first step waits for torch to load: slow on a busy machine.
    await chart.waitFor({ timeout: 240_000 });
    await page.locator('td.status', { hasText: 'succeeded' }).waitFor({ timeout: 240_000 });
    await page.locator('.chart svg[data-points="200"]').waitFor();
    const counts = (await seen()).map(Number);
    assert.ok(
      counts.filter((count) => count > 0 && count < 200).length >= 2,
      `the chart grew while the job ran: ${counts}`,
    );
    assert.deepEqual(
      counts,
      [...counts].sort((left, right) => left - right),
      'it only grows',
    );
    assert.match(
      (await page.getByRole('log', { name: 'Log of console_job' }).textContent()) ?? '',
      /step step=200 /,
    );
    await saveEveryWidth(page, 'jobs');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('a collection written with ByzerStorage is listed with its schema and queried from the Storage page', async () => {
    const cluster = await connectCluster({ stateDirectory: home.home, autoStart: false });
    try {
      const books = new ByzerStorage('byzerai_store', 'library', 'books', {
        llm: { cluster: async () => cluster },
      });
      await books
        .schemaBuilder()
        .addField('_id', DataType.STRING)
        .addField('title', DataType.STRING)
        .addField('content', DataType.STRING, [FieldOption.ANALYZE])
        .addField('year', DataType.LONG)
        .execute();
      await books
        .writeBuilder()
        .addItems([
          { _id: 'b1', title: 'Moby Dick', content: 'the white whale and the sea', year: 1851 },
          { _id: 'b2', title: 'Dune', content: 'sand worms on a desert planet', year: 1965 },
          { _id: 'b3', title: 'Solaris', content: 'a living ocean on a far planet', year: 1961 },
        ])
        .execute();
      await books.commit();
    } finally {
      await cluster.close();
    }
    const { page, problems } = await signedInPage(WIDTHS[0]!.viewport);
    await page.getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('button', { name: 'library.books' }).click();
    await page.locator('code.schema', { hasText: 'field(year,long)' }).waitFor();
    await page.getByLabel(/^Filter/).fill('year=1965');
    await page.getByRole('button', { name: 'Run query' }).click();
    const results = page.locator('caption', { hasText: 'rows of library.books' }).locator('xpath=..');
    await page.locator('caption', { hasText: '1 rows of library.books' }).waitFor();
    assert.match((await results.textContent()) ?? '', /Dune/);
    await page.getByLabel(/^Filter/).fill('');
    await page.getByLabel(/^Search text/).fill('planet');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.locator('caption', { hasText: '2 rows of library.books' }).waitFor();
    const titles = await results.locator('tbody tr').allTextContents();
    assert.deepEqual(titles.map((row) => /Dune|Solaris/.exec(row)?.[0]).sort(), ['Dune', 'Solaris']);
    await saveEveryWidth(page, 'storage');
    assert.deepEqual(problems, []);
    // The page only reads: a write or a drop sent to the console's API is refused, and changes nothing.
    const attempts = await page.evaluate(async () => {
      const post = (operation: string, body: unknown) =>
        fetch(`/console/api/storage/${operation}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then(async (response) => ({ status: response.status, body: await response.text() }));
      const location = { cluster: 'byzerai_store', database: 'library', table: 'books' };
      return {
        drop: await post('drop', location),
        deleted: await post('deleteByIds', { ...location, ids: ['b1'] }),
        tables: await post('listTables', { cluster: 'byzerai_store' }),
      };
    });
    assert.equal(attempts.drop.status, 404, attempts.drop.body);
    assert.match(attempts.drop.body, /reads storage only/);
    assert.equal(attempts.deleted.status, 404, attempts.deleted.body);
    assert.match(attempts.tables.body, /"books"/, 'the table is still there');
    await page.context().close();
  });

  test('without --console_port it listens on 127.0.0.1 next to the admin port, and no key means no login', async () => {
    const headFile = await readHeadFile(home.home);
    assert.ok(headFile, 'the head is running');
    const adminPort = Number(new URL(headFile.address).port);
    const started = await startConsoleCommand(home, [], { BYZERLLM_API_KEY: '' });
    try {
      assert.equal(started.url, `http://127.0.0.1:${adminPort + 1}/`);
      assert.doesNotMatch(started.firstLine, /log in/);
      const session = await fetch(`${started.url}console/api/session`);
      assert.deepEqual(await session.json(), {
        required: false,
        signedIn: true,
        features: { notebook: true, jobs: true, storage: true },
      });
      // Without a key, notebook SQL has no file access: the head's files stay unread.
      const reading = await fetch(`${started.url}console/api/notebook/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          source: `select content from read_text('${path.join(home.home, 'head.json')}')`,
        }),
      });
      const answer = (await reading.json()) as { error?: { message: string } };
      assert.ok(reading.status >= 400, JSON.stringify(answer));
      assert.match(answer.error?.message ?? '', /external access|disabled/i);
    } finally {
      await stopChild(started.child);
    }
  });

  test('keyboard: a page change focuses its heading, Shift+Tab walks the page links, Enter opens one', async () => {
    const { page, problems } = await signedInPage(WIDTHS[0]!.viewport);
    await page.getByRole('link', { name: 'Storage' }).click();
    await page.locator('h1:focus', { hasText: 'Storage' }).waitFor();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Storage');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Jobs');
    await page.keyboard.press('Enter');
    await page.locator('h1:focus', { hasText: 'Jobs' }).waitFor();
    await page.locator('caption', { hasText: "Training jobs, on this head's machine" }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('a console given no SQL session, jobs or storage says on each of those pages what is missing and what to use', async () => {
    // The same console app over the running head's admin API, started without the optional features.
    const headFile = await readHeadFile(home.home);
    assert.ok(headFile, 'the head is running');
    const client = new HeadClient({ address: headFile.address, token: headFile.token });
    const bare = await startConsole({ cluster: client, port: 0 });
    try {
      const session = (await (await fetch(`${bare.address}/console/api/session`)).json()) as {
        features: Record<string, boolean>;
      };
      assert.deepEqual(session.features, { notebook: false, jobs: false, storage: false });
      const refused = await fetch(`${bare.address}/console/api/notebook/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: 'select 1' }),
      });
      assert.equal(refused.status, 400);
      assert.match(
        ((await refused.json()) as { error: { message: string } }).error.message,
        /no SQL session/,
      );
      const watched = await openWatchedPage(browser, WIDTHS[0]!.viewport);
      for (const [id, command] of [
        ['notebook', 'byzerllm sql'],
        ['jobs', 'byzerllm jobs'],
        ['storage', 'byzerllm storage'],
      ]) {
        await watched.page.goto(`${bare.address}/#/${id}`);
        await watched.page.locator('.missing code', { hasText: command! }).waitFor();
        assert.match(
          (await watched.page.locator('.missing').textContent()) ?? '',
          /started without|no SQL session/,
        );
      }
      assert.deepEqual(watched.problems, []);
      await watched.context.close();
    } finally {
      await bare.close();
      await client.close();
    }
  });
});
