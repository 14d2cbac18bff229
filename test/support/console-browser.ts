/**
 * Debian's chromium driven by playwright-core (no browser download), with the checks every console
 * test wants: console errors and failed asset requests are collected, so a test can assert none.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BYZERLLM_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The console's streaming endpoints: leaving a page (or stopping a chat) cancels them. */
const STREAMS = new Set(['/console/api/events', '/console/api/chat', '/console/api/jobs/events']);

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and failed asset requests seen so far. */
  problems: string[];
}

/**
 * A page in its own context. API answers with a 4xx status are the page's to handle (a field error,
 * a wrong key), so Chromium's "Failed to load resource" line for those is not a problem; any other
 * console error, and any asset (non-API) request that fails or answers >= 400, is.
 */
export async function openWatchedPage(
  browser: Browser,
  viewport: { width: number; height: number },
  colorScheme: 'light' | 'dark' = 'light',
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const problems: string[] = [];
  const apiRefusals = new Set<string>();
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (response.status() < 400) return;
    if (url.pathname.startsWith('/console/api/') && response.status() < 500) apiRefusals.add(response.url());
    else problems.push(`${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => {
    const url = new URL(request.url());
    if (STREAMS.has(url.pathname)) return;
    problems.push(`failed ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/Failed to load resource/.test(message.text()) && apiRefusals.has(message.location().url)) return;
    problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { page, context, problems };
}
