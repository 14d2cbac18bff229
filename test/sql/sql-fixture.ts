/**
 * A real cluster for SQL tests: the echoing OpenAI stand-in, an in-process `Head` with `saas/openai`
 * deployments on it, and a `SqlSession` over that head (real DuckDB).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import { SqlSession } from '../../src/sql/index.js';
import {
  type OpenAIUpstream,
  type OpenAIUpstreamOptions,
  startOpenAIUpstream,
} from '../support/openai-upstream.js';

export interface SqlFixture {
  head: Head;
  upstream: OpenAIUpstream;
  session: SqlSession;
  directory: string;
  /** `inferParams` of a `saas/openai` deployment on the stand-in. */
  inferParams: Record<string, string>;
  /** Chat requests the upstream received, as their message lists. */
  chatMessages(): { role: string; content: string }[][];
  close(): Promise<void>;
}

/** Deploys `deployments` (name → num_workers × worker_concurrency) on the stand-in. */
export async function startSqlFixture(
  deployments: Record<string, [number, number]> = { qianwen_chat: [2, 4] },
  upstreamOptions: OpenAIUpstreamOptions = {},
): Promise<SqlFixture> {
  const upstream = await startOpenAIUpstream(upstreamOptions);
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-sql-'));
  const head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  const inferParams = {
    'saas.api_key': upstream.apiKey,
    'saas.base_url': upstream.url,
    'saas.model': 'echo-model',
    'saas.max_retries': '0',
  };
  for (const [name, [numWorkers, workerConcurrency]] of Object.entries(deployments)) {
    await head.deploy({
      name,
      pretrainedModelType: 'saas/openai',
      numWorkers,
      workerConcurrency,
      inferParams,
    });
  }
  const session = new SqlSession({ cluster: head });
  return {
    head,
    upstream,
    session,
    directory,
    inferParams,
    chatMessages: () =>
      upstream.requests
        .filter((request) => request.path === '/v1/chat/completions')
        .map((request) => (request.body as { messages: { role: string; content: string }[] }).messages),
    async close() {
      await session.close();
      await head.close();
      await upstream.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
