/**
 * The gateway under test: a real `Head` (in-process transport) with saas/openai deployments pointing
 * at the local OpenAI stand-in, and `startOpenAIServer` listening on 127.0.0.1.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createInProcessTransport,
  createRoutedCluster,
  DeploymentStore,
  type Governance,
  Head,
} from '../../src/cluster/index.js';
import type { DeploymentSpecInput } from '../../src/core/index.js';
import {
  type RunningOpenAIServer,
  type StartOpenAIServerOptions,
  startOpenAIServer,
} from '../../src/server/index.js';
import {
  type OpenAIUpstream,
  type OpenAIUpstreamOptions,
  startOpenAIUpstream,
} from '../support/openai-upstream.js';

export interface Gateway {
  /** Base URL with `/v1`, what OpenAI clients take. */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  upstream: OpenAIUpstream;
  head: Head;
  server: RunningOpenAIServer;
  /** Where `/v1/responses` stores responses. */
  responsesDirectory: string;
  close(): Promise<void>;
}

export interface GatewayFixtureOptions {
  upstream?: OpenAIUpstreamOptions;
  server?: Partial<Omit<StartOpenAIServerOptions, 'cluster'>>;
  /** More deployments besides `gpt_chat`; `inferParams` get the upstream's URL and key. */
  deployments?: DeploymentSpecInput[];
  /**
   * Routes by name: the gateway gets them and the head's routed cluster, as the head process
   * composes its gateways, so every endpoint reaches a route.
   */
  governance?: Governance;
}

export async function startGateway(options: GatewayFixtureOptions = {}): Promise<Gateway> {
  const upstream = await startOpenAIUpstream(options.upstream);
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-gateway-'));
  const head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  const upstreamParams = {
    'saas.api_key': upstream.apiKey,
    'saas.model': 'm',
    'saas.base_url': upstream.url,
    'saas.max_retries': '0',
  };
  for (const spec of [
    { name: 'gpt_chat', pretrainedModelType: 'saas/openai', workerConcurrency: 16 },
    ...(options.deployments ?? []),
  ]) {
    await head.deploy({ ...spec, inferParams: { ...upstreamParams, ...spec.inferParams } });
  }
  const governance = options.governance;
  const server = await startOpenAIServer({
    cluster: governance ? createRoutedCluster(head, governance) : head,
    ...(governance ? { governance } : {}),
    port: 0,
    responsesDirectory: path.join(directory, 'responses'),
    ...options.server,
  });
  return {
    url: `${server.address}/v1`,
    origin: server.address,
    upstream,
    head,
    server,
    responsesDirectory: path.join(directory, 'responses'),
    async close() {
      await server.close();
      await head.close();
      await upstream.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

/** The last chat request the upstream received, parsed. */
export function lastChatBody(upstream: OpenAIUpstream): Record<string, unknown> {
  const requests = upstream.requests.filter((request) => request.path === '/v1/chat/completions');
  return requests.at(-1)?.body as Record<string, unknown>;
}
