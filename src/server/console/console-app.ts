/**
 * The web console's HTTP app: the built page (index.html, app.js, app.css from `dist/console`) and
 * a small JSON API under `/console/api` over any `ClusterApi`.
 *
 * Contract: every `/console/api` route except `session` and `login` needs a signed-in browser when
 * an API key is set (`console-auth.ts`). Errors answer `{ error: { code, message } }`; a deploy
 * that fails validation answers 400 `{ fieldErrors: { <spec field>: message } }`, checked with the
 * same `deploymentSpecSchema` the CLI's `deploy` uses, so the form and the CLI refuse the same specs.
 * Live views read `events` (server-sent events, one shared ticker, see `console-events.ts`); chat
 * answers stream as server-sent events, one `StreamPart` per event.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { type ClusterApi, resolveStateDirectory } from '../../cluster/index.js';
import { type ErrorCode, toByzerLLMError } from '../../core/index.js';
import type { ConsoleAuth } from './console-auth.js';
import { type ConsoleFeatures, featureFlags } from './console-features.js';
import { ConsoleEvents } from './console-events.js';
import { parseDeployForm } from './deploy-form.js';
import { mountJobsRoutes } from './jobs-routes.js';
import { mountNotebookRoutes } from './notebook-routes.js';
import { NotebookStore } from './notebook-store.js';
import { CHAT_BODY_LIMIT, mountPlaygroundRoutes } from './playground-routes.js';
import { mountStorageRoutes } from './storage-routes.js';

export interface ConsoleAppOptions {
  cluster: ClusterApi;
  auth: ConsoleAuth;
  /** The folder holding the built index.html, app.js and app.css. */
  assetsDirectory: string;
  /** How often live views are refreshed, in milliseconds. Defaults to 1000. */
  refreshMs?: number;
  /** Where the notebook file lives. Defaults to `$BYZERLLM_HOME`. */
  stateDirectory?: string;
  /** The notebook's SQL session, training jobs, storage: each optional (see `console-features.ts`). */
  features?: ConsoleFeatures;
}

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Client mistakes answer 4xx; everything else is the cluster's or the upstream's failure. */
const CLIENT_ERRORS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_argument: 400,
  unsupported: 400,
  not_found: 404,
  already_exists: 409,
  insufficient_resources: 409,
};

export function createConsoleApp(options: ConsoleAppOptions): { app: Hono; close(): void } {
  const { cluster, auth } = options;
  const features = options.features ?? {};
  const refreshMs = options.refreshMs ?? 1000;
  const events = new ConsoleEvents(cluster, refreshMs);
  const app = new Hono();

  app.use('*', async (context, next) => {
    await next();
    // Everything the page needs comes from this origin: no CDN, no inline script.
    context.header('content-security-policy', "default-src 'self'; style-src 'self'; img-src 'self' data:");
    context.header('x-content-type-options', 'nosniff');
  });
  // Chat messages may carry images as data URLs; every other call is small.
  const smallBodies = bodyLimit({ maxSize: 1024 * 1024 });
  const chatBodies = bodyLimit({ maxSize: CHAT_BODY_LIMIT });
  app.use('/console/api/*', (context, next) =>
    context.req.path === '/console/api/chat' ? chatBodies(context, next) : smallBodies(context, next),
  );

  app.get('/', (context) => serveAsset(context, options.assetsDirectory, 'index.html'));
  app.get('/:asset{app\\.(js|css)}', (context) =>
    serveAsset(context, options.assetsDirectory, context.req.param('asset')),
  );

  app.get('/console/api/session', (context) =>
    context.json({
      required: auth.required,
      signedIn: auth.isSignedIn(context),
      features: featureFlags(features),
    }),
  );
  app.post('/console/api/login', async (context) => {
    const body = z.object({ apiKey: z.string() }).safeParse(await context.req.json().catch(() => null));
    if (!body.success || !auth.signIn(context, body.data.apiKey)) {
      return context.json(
        {
          error: {
            code: 'unauthorized',
            message: 'that API key is not the one this console was started with',
          },
        },
        401,
      );
    }
    return context.json({ signedIn: true });
  });
  app.use('/console/api/*', async (context, next) => {
    if (auth.isSignedIn(context)) return next();
    return context.json({ error: { code: 'unauthorized', message: 'sign in with the API key first' } }, 401);
  });

  app.get('/console/api/events', (context) =>
    streamSSE(context, async (sse) => {
      const done = new Promise<void>((resolve) => sse.onAbort(resolve));
      const unsubscribe = events.subscribe((snapshot) => {
        void sse.writeSSE({ event: 'snapshot', data: snapshot });
      });
      await done;
      unsubscribe();
    }),
  );

  app.post('/console/api/deployments', async (context) => {
    const parsed = parseDeployForm(await context.req.json().catch(() => null));
    if (!parsed.ok) return context.json({ fieldErrors: parsed.fieldErrors }, 400);
    const outcome = await cluster.deploy(parsed.spec);
    events.refreshSoon();
    return context.json(outcome);
  });
  app.delete('/console/api/deployments/:name', async (context) => {
    const result = await cluster.undeploy(context.req.param('name'));
    events.refreshSoon();
    return context.json(result);
  });
  app.get('/console/api/deployments/:name/meta', async (context) =>
    context.json(await cluster.meta(context.req.param('name'))),
  );

  mountNotebookRoutes(
    app,
    new NotebookStore(options.stateDirectory ?? resolveStateDirectory()),
    features.notebook,
  );
  const jobsEvents = mountJobsRoutes(app, features.jobs, refreshMs);
  mountStorageRoutes(app, features.storage);

  mountPlaygroundRoutes(app, cluster);

  app.onError((error, context) => {
    const mapped = toByzerLLMError(error);
    const status = CLIENT_ERRORS[mapped.code] ?? 502;
    return context.json({ error: { code: mapped.code, message: mapped.message } }, status);
  });
  return {
    app,
    close: () => {
      events.close();
      jobsEvents?.close();
      void features.notebook?.close();
    },
  };
}

async function serveAsset(context: Context, directory: string, name: string): Promise<Response> {
  const type = ASSETS[name];
  if (!type) return context.notFound();
  try {
    const body = await readFile(path.join(directory, name));
    return context.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' });
  } catch {
    return context.text(
      `the console's ${name} is not built: run \`npm run build:console\` in the byzerllm package`,
      500,
    );
  }
}
