/**
 * The vLLM engine against a real server process: vLLM is not installed anywhere here, so the
 * server is test/support/vllm-stand-in-main.ts, which takes vLLM's command line and speaks its
 * HTTP API (`/health`, `/v1/models` with `max_model_len`, the OpenAI routes).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StreamPart } from '../../../src/core/chat-model.js';
import { deploymentSpecSchema, type EngineContext } from '../../../src/core/deployment.js';
import { ByzerLLMError } from '../../../src/core/errors.js';
import { readVllmLaunch } from '../../../src/engines/vllm/vllm-params.js';
import { createVllmEngine } from '../../../src/engines/vllm/vllm-provider.js';

const STAND_IN = fileURLToPath(new URL('../../support/vllm-stand-in-main.js', import.meta.url));
const STAND_IN_COMMAND = `${process.execPath} ${STAND_IN}`;

function context(
  inferParams: Record<string, string>,
  options: { gpuIndices?: number[]; modelPath?: string } = {},
): EngineContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    spec: deploymentSpecSchema.parse({
      name: 'qwen_local',
      pretrainedModelType: 'custom/auto',
      inferBackend: 'vllm',
      modelPath: options.modelPath ?? '/models/Qwen2-7B-Instruct',
      inferParams,
      gpusPerWorker: options.gpuIndices?.length ?? 0,
    }),
    workerIndex: 0,
    gpuIndices: options.gpuIndices ?? [],
    warn: (message) => warnings.push(message),
    warnings,
  };
}

function failsWith(code: string, ...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

/** Whether a process with this id still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The value after `flag` in an argument list. */
const flagValue = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe('vllm engine flags', () => {
  test('backend.* parameters become vLLM flags; tensor parallelism follows the placed GPUs', () => {
    const ctx = context(
      {
        'backend.gpu_memory_utilization': '0.8',
        'backend.max_model_len': '8192',
        'backend.enforce_eager': 'true',
        'backend.trust_remote_code': 'false',
        'backend.quantization': 'AWQ',
        'backend.enable_lora': 'true',
        'backend.max_num_seqs': '64',
        'backend.worker_use_ray': 'true',
        'saas.api_key': 'ignored-here',
      },
      { gpuIndices: [2, 5] },
    );
    const launch = readVllmLaunch(ctx, {});
    assert.deepEqual(launch.command, ['python3', '-m', 'vllm.entrypoints.openai.api_server']);
    assert.equal(launch.isDefaultCommand, true);
    assert.equal(launch.cudaVisibleDevices, '2,5');
    assert.deepEqual(launch.flags, [
      '--model',
      '/models/Qwen2-7B-Instruct',
      '--served-model-name',
      'qwen_local',
      '--gpu-memory-utilization',
      '0.8',
      '--max-model-len',
      '8192',
      '--enforce-eager',
      '--quantization',
      'awq',
      '--tensor-parallel-size',
      '2',
      '--enable-lora',
      '--max-num-seqs',
      '64',
    ]);
    assert.equal(ctx.warnings.length, 1);
    assert.match(ctx.warnings[0]!, /backend\.worker_use_ray ignored/);
  });

  test('defaults: 0.9 memory utilisation, no tensor parallel flag without GPUs, env command', () => {
    const launch = readVllmLaunch(context({}), { BYZERLLM_VLLM_COMMAND: 'vllm serve' });
    assert.deepEqual(launch.command, ['vllm', 'serve']);
    assert.equal(launch.isDefaultCommand, false);
    assert.equal(launch.cudaVisibleDevices, undefined);
    assert.equal(flagValue(launch.flags, '--gpu-memory-utilization'), '0.9');
    assert.ok(!launch.flags.includes('--tensor-parallel-size'));
    assert.equal(launch.startupTimeoutMs, 900_000);
  });

  test('bad values are refused naming the value and what is allowed', () => {
    assert.throws(
      () => readVllmLaunch(context({ 'backend.quantization': 'int3' }), {}),
      failsWith('invalid_argument', '"int3"', 'awq, gptq'),
    );
    assert.throws(
      () => readVllmLaunch(context({ 'backend.gpu_memory_utilization': '1.5' }), {}),
      failsWith('invalid_argument', 'gpu_memory_utilization', '"1.5"'),
    );
    assert.throws(
      () => readVllmLaunch(context({ 'backend.enforce_eager': 'yes' }), {}),
      failsWith('invalid_argument', 'enforce_eager', '"yes"'),
    );
    assert.throws(
      () => readVllmLaunch(context({}, { modelPath: '' }), {}),
      failsWith('invalid_argument', '--model_path'),
    );
    assert.throws(
      () => readVllmLaunch(context({ 'backend.command': 'vllm serve && rm -rf /' }), {}),
      failsWith('invalid_argument', 'without shell operators'),
    );
  });
});

describe('vllm engine with a server process', () => {
  let root: string;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-vllm-'));
  });
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('starts the server with the flags and GPUs, waits for health, proxies chat and stops it', async () => {
    const recordFile = path.join(root, 'record.json');
    const modelFolder = path.join(root, 'model');
    await fs.mkdir(modelFolder);
    await fs.writeFile(
      path.join(modelFolder, 'config.json'),
      JSON.stringify({ architectures: ['Qwen2ForCausalLM'], max_position_embeddings: 32768 }),
    );
    await fs.writeFile(
      path.join(modelFolder, 'tokenizer_config.json'),
      JSON.stringify({ chat_template: '{{x}}' }),
    );
    const ctx = context(
      {
        'backend.command': STAND_IN_COMMAND,
        'backend.max_model_len': '2048',
        'backend.enforce_eager': 'true',
      },
      { gpuIndices: [1, 3], modelPath: modelFolder },
    );
    const environment = {
      ...process.env,
      BYZERLLM_VLLM_STAND_IN_RECORD: recordFile,
      // The first health checks fail, as while vLLM loads weights: the engine must keep waiting.
      BYZERLLM_VLLM_STAND_IN_UNHEALTHY: '3',
    };
    const engine = await createVllmEngine(ctx, environment);
    const record = JSON.parse(await fs.readFile(recordFile, 'utf8')) as {
      pid: number;
      argv: string[];
      cudaVisibleDevices: string | null;
    };
    try {
      assert.equal(record.cudaVisibleDevices, '1,3');
      assert.equal(flagValue(record.argv, '--model'), modelFolder);
      assert.equal(flagValue(record.argv, '--tensor-parallel-size'), '2');
      assert.equal(flagValue(record.argv, '--max-model-len'), '2048');
      assert.equal(flagValue(record.argv, '--host'), '127.0.0.1');
      assert.ok(record.argv.includes('--enforce-eager'));
      assert.match(flagValue(record.argv, '--api-key') ?? '', /^byzerllm-[0-9a-f]{32}$/);

      assert.equal(engine.meta.backend, 'vllm');
      assert.equal(engine.meta.model_deploy_type, 'proprietary');
      assert.equal(engine.meta.model_name, 'qwen_local');
      assert.equal(engine.meta.max_model_len, 2048);
      assert.deepEqual(engine.meta.architectures, ['Qwen2ForCausalLM']);
      assert.equal(engine.meta.support_vision, false, 'a text-only architecture');
      assert.equal(engine.meta.support_stream, true);
      assert.equal(engine.meta.support_chat_template, true);
      assert.deepEqual(engine.meta.tasks, ['chat']);
      assert.equal(engine.chat?.provider, 'vllm');

      const answer = await engine.chat!.doGenerate({
        messages: [{ role: 'user', content: 'hello vllm' }],
      });
      assert.equal(answer.text, 'echo: hello vllm');
      const parts: StreamPart[] = [];
      for await (const part of await engine.chat!.doStream({
        messages: [{ role: 'user', content: 'stream me' }],
      })) {
        parts.push(part);
      }
      const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
      assert.equal(text, 'echo: stream me');
      assert.equal(parts.at(-1)?.type, 'finish');
      assert.ok(alive(record.pid));
    } finally {
      await engine.dispose();
    }
    assert.equal(alive(record.pid), false, 'the server process is gone after dispose');
  });

  test('a server that exits while starting is a worker failure carrying its last output', async () => {
    const command = `${process.execPath} -e "console.error('CUDA out of memory'); process.exit(3)" --`;
    await assert.rejects(
      createVllmEngine(context({ 'backend.command': command }), process.env),
      failsWith('worker_failed', 'exited with code 3', 'CUDA out of memory'),
    );
  });

  test('a server that never becomes healthy times out and is stopped', async () => {
    const recordFile = path.join(root, 'slow.json');
    const ctx = context({ 'backend.command': STAND_IN_COMMAND, 'backend.startup_timeout': '1' });
    await assert.rejects(
      createVllmEngine(ctx, {
        ...process.env,
        BYZERLLM_VLLM_STAND_IN_RECORD: recordFile,
        BYZERLLM_VLLM_STAND_IN_UNHEALTHY: '1000000',
      }),
      failsWith('timeout', '/health', 'backend.startup_timeout'),
    );
    const { pid } = JSON.parse(await fs.readFile(recordFile, 'utf8')) as { pid: number };
    assert.equal(alive(pid), false);
  });

  test('without vLLM installed the deploy fails with what to do', async () => {
    // A python3 that cannot import vllm, and then no python3 at all.
    const bin = path.join(root, 'bin');
    await fs.mkdir(bin, { recursive: true });
    await fs.writeFile(path.join(bin, 'python3'), '#!/bin/sh\necho "No module named vllm" >&2\nexit 1\n', {
      mode: 0o755,
    });
    await assert.rejects(
      createVllmEngine(context({}), { PATH: bin }),
      failsWith('unsupported', 'vLLM is not installed', 'pip install vllm', 'BYZERLLM_VLLM_COMMAND'),
    );
    await assert.rejects(
      createVllmEngine(context({}), { PATH: path.join(root, 'empty') }),
      failsWith('unsupported', 'python3 is not on PATH'),
    );
  });
});
