/**
 * Starts the web console (`byzerllm console`) on its own port, over any `ClusterApi`. The head runs
 * it in its own process next to the admin API (see `GatewayHost`); the page's assets are read from
 * `dist/console`, built by `npm run build:console` at `prepare`, and only when a browser asks for
 * them, so a client-only consumer never needs them.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { ClusterApi } from '../../cluster/index.js';
import { createConsoleApp } from './console-app.js';
import { createConsoleAuth } from './console-auth.js';
import type { ConsoleFeatures } from './console-features.js';

/** dist/src/server/console → dist/console */
export const CONSOLE_ASSETS_DIRECTORY = fileURLToPath(new URL('../../../console/', import.meta.url));

export interface StartConsoleOptions {
  cluster: ClusterApi;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, the page asks for it before showing anything (the gateway's API key). */
  apiKey?: string;
  /** Defaults to the built assets of this package. */
  assetsDirectory?: string;
  /** The notebook's SQL session and the other optional pages' services. */
  features?: ConsoleFeatures;
}

export interface RunningConsole {
  /** `http://HOST:PORT` */
  address: string;
  close(): Promise<void>;
}

export async function startConsole(options: StartConsoleOptions): Promise<RunningConsole> {
  const { app, close } = createConsoleApp({
    cluster: options.cluster,
    auth: createConsoleAuth(options.apiKey),
    assetsDirectory: options.assetsDirectory ?? CONSOLE_ASSETS_DIRECTORY,
    ...(options.features ? { features: options.features } : {}),
  });
  const host = options.host ?? '127.0.0.1';
  const server = serve({ fetch: app.fetch, hostname: host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    address: `http://${shownHost}:${port}`,
    close: async () => {
      close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open event streams would hold close() forever: end them with the console.
      (server as import('node:http').Server).closeAllConnections();
      await closed;
    },
  };
}
