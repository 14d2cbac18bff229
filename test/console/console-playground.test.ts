/**
 * The Playground's reasoning and images, end to end: the real CLI starts a head and `byzerllm
 * console`, a loopback OpenAI upstream streams `reasoning_content` deltas before the answer (as
 * DeepSeek's reasoner does), and Debian's chromium drives the page. A DeepSeek-style reasoner reads
 * text only; a gpt-4o deployment reads images (its meta's `support_vision`), and only it is offered
 * the attach-image control.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { createTestHome, type TestHome } from '../support/cli.js';
import { openWatchedPage } from '../support/console-browser.js';
import {
  type OpenedConsole,
  openConsoleWithBrowser,
  PNG,
  recordValues,
  saveEveryWidth,
  WIDTHS,
} from '../support/console-pages.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const REASONING = 'First I weigh what is asked, then I check it twice before I answer.';

let home: TestHome;
let upstream: OpenAIUpstream;
let opened: OpenedConsole | undefined;

before(async () => {
  home = await createTestHome();
  // Pieces 40 ms apart: the reasoning and then the answer can be seen growing.
  upstream = await startOpenAIUpstream({
    chunkDelayMs: 40,
    reasoning: REASONING,
    reply: (text) => `the answer to ${text} is short`,
  });
  opened = await openConsoleWithBrowser(home);
  const saas = [`saas.api_key=${upstream.apiKey}`, `saas.base_url=${upstream.url}`];
  for (const [name, type, model] of [
    ['thinker', 'saas/reasoning_openai', 'deepseek-reasoner'],
    ['seer', 'saas/openai', 'gpt-4o'],
  ]) {
    const deployed = await home.run([
      ...['deploy', '--model', name!, '--pretrained_model_type', type!],
      ...['--infer_params', ...saas, `saas.model=${model}`],
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
  }
});

after(async () => {
  await opened?.close();
  await home?.cleanup();
  await upstream?.close();
});

async function playground(): Promise<{ page: Page; problems: string[] }> {
  const watched = await openWatchedPage(opened!.browser, WIDTHS[0]!.viewport);
  await watched.page.goto(`${opened!.url}#/playground`);
  for (const name of ['thinker', 'seer'])
    await watched.page.locator('#chat-deployment option', { hasText: name }).waitFor({ state: 'attached' });
  return watched;
}

test('a reasoning deployment streams its reasoning apart from the answer, each growing as it arrives', async () => {
  const { page, problems } = await playground();
  await page.locator('#chat-deployment').selectOption('thinker');
  const reasoningSeen = await recordValues(page, '.turn.assistant .reasoning p');
  const answerSeen = await recordValues(page, '.turn.assistant .content');
  await page.getByLabel('Message').fill('why is the sky blue');
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = 'the answer to why is the sky blue is short';
  await page.locator('.turn.assistant .content', { hasText: answer }).waitFor();

  const reasoning = page.locator('.turn.assistant details.reasoning');
  assert.equal(await reasoning.locator('summary').textContent(), 'Reasoning');
  assert.equal(await reasoning.locator('p').textContent(), REASONING);
  assert.equal(await page.locator('.turn.assistant .content').textContent(), answer, 'no reasoning in it');
  for (const [seen, final] of [
    [await reasoningSeen(), REASONING],
    [await answerSeen(), answer],
  ] as const) {
    const partial = seen.filter((text) => text !== '' && text !== final);
    assert.ok(partial.length >= 2, `it grew piece by piece: ${JSON.stringify(seen)}`);
    for (const text of partial) assert.ok(final.startsWith(text), `${text} is a prefix of ${final}`);
  }
  // A text-only model is offered no image control.
  assert.equal(await page.getByLabel('Attach images').count(), 0);
  await saveEveryWidth(page, 'playground-reasoning');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('only a vision deployment offers images: the image reaches the upstream as image_url; a text-only one refuses them', async () => {
  const { page, problems } = await playground();
  await page.locator('#chat-deployment').selectOption('seer');
  await page
    .getByLabel('Attach images')
    .setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
  const pending = page.getByText('1 image attached to the next message');
  await pending.waitFor();
  // Choosing a text-only deployment hides the control and drops the waiting image.
  await page.locator('#chat-deployment').selectOption('thinker');
  await pending.waitFor({ state: 'detached' });
  assert.equal(await page.getByLabel('Attach images').count(), 0);

  await page.locator('#chat-deployment').selectOption('seer');
  await page
    .getByLabel('Attach images')
    .setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
  await pending.waitFor();
  await page.getByLabel('Message').fill('what is in it?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.turn.assistant .content', { hasText: 'the answer to what is in it?' }).waitFor();
  await page.locator('img.attached').waitFor();
  const sent = upstream.requests.at(-1)!.body as {
    model: string;
    messages: { content: string | { type: string; image_url?: { url: string }; text?: string }[] }[];
  };
  assert.equal(sent.model, 'gpt-4o');
  const parts = sent.messages.at(-1)!.content;
  assert.ok(Array.isArray(parts), 'the message went as parts');
  assert.deepEqual(parts, [
    { type: 'text', text: 'what is in it?' },
    { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
  ]);
  await saveEveryWidth(page, 'playground-vision');

  // The API refuses images for a deployment whose meta does not say it reads them: no upstream call.
  const before = upstream.requests.length;
  const refused = await fetch(`${opened!.url}console/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      deployment: 'thinker',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image', url: `data:image/png;base64,${PNG.toString('base64')}` },
          ],
        },
      ],
    }),
  });
  assert.equal(refused.status, 400);
  const body = (await refused.json()) as { error: { message: string } };
  assert.match(body.error.message, /deployment thinker does not read images/);
  assert.equal(upstream.requests.length, before);
  assert.deepEqual(problems, []);
  await page.context().close();
});
