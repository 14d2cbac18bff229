/**
 * What the console tests share: starting `byzerllm console`, watching numbers change on the page, and
 * saving screenshots at both widths into dist/test-output/console.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { HeadClient, readHeadFile } from '../../src/cluster/index.js';
import { CLI_ENTRY, type TestHome } from './cli.js';
import { launchChromium } from './console-browser.js';

/** A 1×1 PNG, attached in the Playground. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
export const OUTPUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url));
export const PAGES = ['cluster', 'deployments', 'playground', 'notebook', 'jobs', 'storage'];
export const WIDTHS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
];

/** Runs `byzerllm console ARGS` and reads the URL from its first line. */
export async function startConsoleCommand(
  home: TestHome,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string; firstLine: string }> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'console', ...args], {
    env: { ...home.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const firstLine = ((await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value ??
    '') as string;
  const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(firstLine)?.[1];
  if (!url) {
    await stopChild(child);
    assert.fail(`console printed its URL: ${firstLine} ${stderr}`);
  }
  return { child, url, firstLine };
}

/** A console without an API key (no login page) on any free port, and Debian's chromium to drive it. */
export interface OpenedConsole {
  url: string;
  browser: Browser;
  /** Closes the browser and stops the console command. */
  close(): Promise<void>;
}

export async function openConsoleWithBrowser(home: TestHome): Promise<OpenedConsole> {
  await mkdir(OUTPUT, { recursive: true });
  const started = await startConsoleCommand(home, ['--console_port', '0'], { BYZERLLM_API_KEY: '' });
  const browser = await launchChromium().catch(async (error: unknown) => {
    await stopChild(started.child);
    throw error;
  });
  return {
    url: started.url,
    browser,
    async close() {
      await browser.close();
      await stopChild(started.child);
    },
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Records every value an element shows (its text, or `attribute`), via a MutationObserver in the
 * page; the returned function reads the values seen so far, each change once. (A string script:
 * this project's tsconfig has no DOM types.)
 */
export async function recordValues(
  page: Page,
  selector: string,
  attribute?: string,
): Promise<() => Promise<string[]>> {
  const key = `recorded_${Math.random().toString(36).slice(2)}`;
  const read = attribute ? `element?.getAttribute(${JSON.stringify(attribute)})` : 'element?.textContent';
  await page.evaluate(`(() => {
    const values = [];
    window[${JSON.stringify(key)}] = values;
    new MutationObserver(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      const value = ${read};
      if (value != null && values.at(-1) !== value) values.push(value);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  return () => page.evaluate(`window[${JSON.stringify(key)}]`) as Promise<string[]>;
}

/**
 * Sends 6 requests one after another (each held 400 ms by the upstream) through the admin API and
 * records every value the page shows for worker 0's request count meanwhile: it must show counts
 * between the first and the last, i.e. it rose while the requests ran. Then the worker's latency
 * percentiles and tokens per second are on the page.
 */
export async function watchRequestCountRise(page: Page, home: TestHome): Promise<void> {
  const seen = await recordValues(page, 'tr[data-worker="0"] .requests');
  const headFile = await readHeadFile(home.home);
  assert.ok(headFile, 'the head is running');
  const client = new HeadClient({ address: headFile.address, token: headFile.token });
  try {
    for (let index = 0; index < 6; index++) {
      await client.call('chat', 'chat', {
        messages: [{ role: 'user', content: `delay:400 request ${index}` }],
      });
    }
  } finally {
    await client.close();
  }
  await page.locator('tr[data-worker="0"] .requests', { hasText: /^9$/ }).waitFor();
  const counts = (await seen()).map(Number);
  const between = counts.filter((count) => count > 3 && count < 9);
  assert.ok(between.length >= 2, `the count rose step by step while requests ran: ${counts}`);
  assert.deepEqual(
    counts,
    [...counts].sort((left, right) => left - right),
    'it only rises',
  );
  const p50 = Number.parseFloat((await page.locator('tr[data-worker="0"] .p50').textContent()) ?? '');
  assert.ok(p50 >= 400, `p50 ${p50} ms covers the upstream's 400 ms`);
  assert.match((await page.locator('tr[data-worker="0"] .p95').textContent()) ?? '', /^\d+(\.\d)? ms$/);
  assert.ok(Number((await page.locator('tr[data-worker="0"] .tokens-per-second').textContent()) ?? '') > 0);
  assert.equal(await page.locator('tr[data-worker="0"] .errors').textContent(), '0');
}

/** One page at both widths (the phone pass in the dark theme), after the state a test built. */
export async function saveEveryWidth(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUTPUT, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(WIDTHS[1]!.viewport);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(OUTPUT, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(WIDTHS[0]!.viewport);
  await page.emulateMedia({ colorScheme: 'light' });
}

export async function saveEveryPage(page: Page, width: string): Promise<void> {
  for (const id of PAGES) {
    await page.goto(`${page.url().split('#')[0]}#/${id}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(`^${id}$`, 'i') }).waitFor();
    await page.locator('.loading').waitFor({ state: 'detached' });
    await page.screenshot({ path: path.join(OUTPUT, `${id}-${width}.png`), fullPage: true });
  }
}
