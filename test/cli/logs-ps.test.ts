/**
 * `byzerllm logs` and `byzerllm ps` through the real CLI and head: a tiny GGUF deployed on
 * llama_cpp with 2 worker processes (each with its own log file) beside a SaaS deployment on a
 * loopback OpenAI stand-in.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DeploymentInfo } from '../../src/cluster/index.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';
import { CLI_ENTRY, createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

describe('byzerllm logs and ps', () => {
  let home: TestHome;
  let upstream: OpenAIUpstream;

  before(async () => {
    home = await createTestHome();
    upstream = await startOpenAIUpstream({ apiKey: 'sk-logs' });
    // --num-workers: the dashed spelling of --num_workers works as well.
    const local = await deployTiny(['-q', 'deploy', '--num-workers', '2', '--model', 'tiny']);
    assert.equal(local.code, 0, local.stderr);
    const saas = await home.run([
      '-q',
      'deploy',
      '--pretrained_model_type',
      'saas/openai',
      '--infer_params',
      'saas.api_key=sk-logs',
      'saas.model=gpt',
      `saas.base_url=${upstream.url}`,
      '--model',
      'gpt_chat',
    ]);
    assert.equal(saas.code, 0, saas.stderr);
  });

  /** `byzerllm <args>` deploying the tiny GGUF on llama_cpp. */
  const deployTiny = async (args: string[]) => {
    const modelPath = (await ensureTinyLlamaModel(path.join(home.home, 'models'))).path;
    const model = [
      '--pretrained_model_type',
      'custom/auto',
      '--infer_backend',
      'llama_cpp',
      '--model_path',
      modelPath,
    ];
    return home.run([...args, ...model]);
  };

  after(async () => {
    await home?.cleanup();
    await upstream?.close();
  });

  const workerPids = async (): Promise<number[]> => {
    const listed = JSON.parse((await home.run(['list', '--json'])).stdout) as DeploymentInfo[];
    return listed.find((deployment) => deployment.name === 'tiny')!.workers.map((worker) => worker.pid!);
  };

  test('each local worker writes its own log file; logs --model prefixes lines, --worker picks one', async () => {
    const pids = await workerPids();
    for (const index of [0, 1]) {
      const text = await fs.readFile(path.join(home.home, 'logs/workers/tiny', `${index}.log`), 'utf8');
      assert.match(text, new RegExp(`\\[tiny#${index}@head\\] starting custom/auto \\(llama_cpp\\)`));
      assert.match(text, new RegExp(`\\[worker ${pids[index]}\\] ready: tiny#${index} loaded in \\d+ ms`));
    }
    const both = await home.run(['logs', '--model', 'tiny']);
    assert.equal(both.code, 0, both.stderr);
    const lines = both.stdout.trimEnd().split('\n');
    assert.ok(
      lines.every((line) => /^\[tiny#[01]\] /.test(line)),
      both.stdout,
    );
    assert.ok(lines.some((line) => line.startsWith('[tiny#1] ') && line.includes('ready: tiny#1')));
    const one = await home.run(['logs', '--model', 'tiny', '--worker', '1']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /ready: tiny#1/);
    assert.doesNotMatch(one.stdout, /tiny#0|^\[/m);
  });

  test('logs: the head log by default; unknown model or worker is an error naming it', async () => {
    const head = await home.run(['logs']);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout, /worker tiny#0@head ready/);
    const saas = await home.run(['logs', '--model', 'gpt_chat']);
    assert.notEqual(saas.code, 0);
    assert.match(saas.stderr, /no worker logs for gpt_chat on this machine .*head's log/);
    const worker = await home.run(['logs', '--model', 'tiny', '--worker', '7']);
    assert.notEqual(worker.code, 0);
    assert.match(worker.stderr, /tiny has no worker 7 here; its workers: 0, 1/);
  });

  test('logs --follow prints the lines a restarted worker appends, and ends on Ctrl+C', async () => {
    const follower = spawn(
      process.execPath,
      [CLI_ENTRY, 'logs', '--model', 'tiny', '--worker', '0', '--follow'],
      {
        env: home.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (pattern.test(stdout)) {
            follower.stdout.off('data', check);
            resolve();
          }
        };
        follower.stdout.on('data', check);
        check();
      });
    follower.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => follower.once('close', resolve));
    await seen(/ready: tiny#0/);
    const [oldPid] = await workerPids();
    const readyLines = () => stdout.match(/ready: tiny#0/g)?.length ?? 0;
    assert.equal(readyLines(), 1);
    process.kill(oldPid!, 'SIGKILL');
    // The transport restarts the worker; its new start and ready lines reach the follower.
    await seen(/ready: tiny#0[\s\S]*ready: tiny#0/);
    assert.equal(readyLines(), 2);
    assert.match(stdout, /\[tiny#0@head\] starting[\s\S]*\[tiny#0@head\] starting/);
    follower.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  test('ps: one line per deployment with workers busy/idle, memory and since; --json the same data', async () => {
    const table = await home.run(['ps']);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^NAME\s+TYPE\s+STATE\s+WORKERS\s+MEMORY\s+SINCE$/);
    const tiny = rows.find((row) => row.startsWith('tiny '))!;
    assert.match(
      tiny,
      /custom\/auto \(llama_cpp\)\s+running\s+2 \(0 busy, 2 idle\)\s+\d+ MB\s+\d+ (seconds|minutes) ago/,
    );
    const gpt = rows.find((row) => row.startsWith('gpt_chat '))!;
    assert.match(gpt, /saas\/openai\s+running\s+1 \(0 busy, 1 idle\)\s+in head\s+\d+ (seconds|minutes) ago/);
    const json = JSON.parse((await home.run(['ps', '--json'])).stdout) as {
      name: string;
      memoryBytes: number | null;
      workers: number;
    }[];
    const tinyRow = json.find((row) => row.name === 'tiny')!;
    assert.equal(tinyRow.workers, 2);
    // Two node processes with llama.cpp loaded: well over 20 MB each.
    assert.ok(
      tinyRow.memoryBytes !== null && tinyRow.memoryBytes > 40 * 1024 * 1024,
      String(tinyRow.memoryBytes),
    );
  });

  test('deploy of a local model shows its loading progress as plain lines when stderr is not a terminal', async () => {
    const deployed = await deployTiny(['deploy', '--model', 'tiny_progress']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const lines = deployed.stderr.split('\n').filter((line) => line.startsWith('tiny_progress#'));
    assert.ok(lines.length >= 2, deployed.stderr);
    assert.equal(lines.at(-1), 'tiny_progress#0: ready');
    assert.equal(lines.at(-2), 'tiny_progress#0: loading 100%');
    assert.ok(
      lines.every((line) => /^tiny_progress#0: (loading \d+%|ready)$/.test(line)),
      lines.join('\n'),
    );
    assert.doesNotMatch(deployed.stderr, /\r/);
    const quiet = await home.run(['-q', 'undeploy', '--model', 'tiny_progress']);
    assert.equal(quiet.code, 0, quiet.stderr);
  });

  test('ps never starts a head: with none running it fails', async () => {
    const empty = await createTestHome();
    try {
      const result = await empty.run(['ps']);
      assert.notEqual(result.code, 0);
      await assert.rejects(fs.access(path.join(empty.home, 'head.json')));
    } finally {
      await empty.cleanup();
    }
  });
});
