/**
 * The targets of `run.ts`, started for real: the loopback upstream (`direct`), the bare proxy,
 * `byzerllm serve` (the CLI: a private `$BYZERLLM_HOME`, `deploy`, `serve`; the gateway runs in the
 * background head process, whose pid is read from its `head.json` so its CPU time can be measured),
 * the same with governance on, and the Portkey gateway. `stop` ends the heads and removes the homes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MeasuredTarget } from './rounds.js';
import { runCommand, startProcess, startUpstreamAndBare } from './processes.js';

export interface RunTargets {
  targets: MeasuredTarget[];
  upstreamPid: number;
  /** Names of the rows the issues' targets are stated for. */
  names: { bare: string; serve: string; governed: string; cached: string };
  stop: () => Promise<void>;
}

const SERVE_READY = /OpenAI-compatible API at/;

/** Deploys `bench_chat` on a new head (the `deploy` starts it) and serves it; the head's pid too. */
async function startServe(options: {
  cli: string;
  env: NodeJS.ProcessEnv;
  deployArgs: string[];
  governed: boolean;
}): Promise<{ origin: string; pid: number; key?: string; home: string; env: NodeJS.ProcessEnv }> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-'));
  const env: NodeJS.ProcessEnv = { ...options.env, BYZERLLM_HOME: home };
  delete env.BYZERLLM_HEAD_PORT;
  const { cli } = options;
  const price = options.governed ? ['gateway.price_input=0.15', 'gateway.price_output=0.6'] : [];
  await runCommand([cli, ...options.deployArgs, ...price], env);
  let key: string | undefined;
  if (options.governed) {
    // Governance on (issue 19): the deployment priced and limited, a key with rpm, tpm and a budget
    // — all too high to refuse anything — and a route with a response cache whose requests all miss.
    const huge = '1000000000';
    await runCommand([cli, 'limits', 'set', 'bench_chat', '--rpm', huge, '--tpm', huge], env);
    const created = await runCommand(
      [cli, 'keys', 'create', '--rpm', huge, '--tpm', huge, '--budget', '9000'],
      env,
    );
    key = created.trim();
    const routeFile = path.join(home, 'cached.yaml');
    await fs.writeFile(
      routeFile,
      'strategy: single\ncache: { ttl_seconds: 300, max_entries: 1000 }\ntargets: [{ deployment: bench_chat }]\n',
    );
    await runCommand([cli, 'route', 'set', 'bench_cached', '--file', routeFile], env);
  }
  const served = await startProcess(process.execPath, [cli, 'serve', '--port', '0'], env, SERVE_READY);
  const origin = /(http:\/\/[\d.:]+)/.exec(served.line)![1]!;
  const headFile = JSON.parse(await fs.readFile(path.join(home, 'head.json'), 'utf8')) as { pid: number };
  return { origin, pid: headFile.pid, home, env, ...(key ? { key } : {}) };
}

async function startPortkey(root: string, upstreamUrl: string, apiKey: string) {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  try {
    const { child } = await startProcess(
      process.execPath,
      [
        path.join(root, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
        '--headless',
        `--port=${port}`,
      ],
      process.env,
      /Ready for connections/,
    );
    return {
      name: 'Portkey gateway',
      origin: `http://127.0.0.1:${port}`,
      model: 'm',
      pid: child.pid!,
      headers: {
        authorization: `Bearer ${apiKey}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': upstreamUrl,
      },
    };
  } catch (error) {
    process.stderr.write(`Portkey gateway did not start: ${(error as Error).message}\n`);
    return undefined;
  }
}

export async function startRunTargets(root: string, withPortkey: boolean): Promise<RunTargets> {
  const env = { ...process.env };
  const { upstream, bare } = await startUpstreamAndBare(root);
  const { url, apiKey } = upstream;
  const authorization = { authorization: `Bearer ${apiKey}` };
  const cli = path.join(root, 'dist/src/cli/byzerllm.js');
  const deployArgs = [
    'deploy',
    '--model',
    'bench_chat',
    '--pretrained_model_type',
    'saas/openai',
    '--worker_concurrency',
    '1000',
    '--infer_params',
    `saas.api_key=${apiKey}`,
    'saas.model=m',
    `saas.base_url=${url}`,
  ];
  const plain = await startServe({ cli, env, deployArgs, governed: false });
  const governed = await startServe({ cli, env, deployArgs, governed: true });
  const portkey = withPortkey ? await startPortkey(root, url, apiKey) : undefined;
  const names = {
    bare: 'bare proxy',
    serve: 'byzerllm serve',
    governed: 'byzerllm serve + key + limits',
    cached: 'byzerllm serve + key + limits + route cache miss',
  };
  const keyHeader = { authorization: `Bearer ${governed.key}` };
  const targets: MeasuredTarget[] = [
    { name: 'direct', origin: upstream.origin, model: 'm', headers: authorization },
    {
      name: names.bare,
      origin: bare.url,
      model: 'm',
      headers: authorization,
      pid: bare.pid,
    },
    { name: names.serve, origin: plain.origin, model: 'bench_chat', headers: {}, pid: plain.pid },
    {
      name: names.governed,
      origin: governed.origin,
      model: 'bench_chat',
      headers: keyHeader,
      pid: governed.pid,
    },
    // Every request asks something new, so each takes the route cache's miss path.
    {
      name: names.cached,
      origin: governed.origin,
      model: 'bench_cached',
      headers: keyHeader,
      distinct: true,
      pid: governed.pid,
    },
    ...(portkey ? [portkey] : []),
  ];
  const stop = async () => {
    for (const head of [plain, governed]) {
      await runCommand([cli, 'stop'], head.env).catch(() => {});
      await fs.rm(head.home, { recursive: true, force: true });
    }
  };
  return { targets, upstreamPid: upstream.pid, names, stop };
}
