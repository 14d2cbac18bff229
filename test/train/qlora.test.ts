/**
 * QLoRA on CPU through the real CLI: the frozen base of the quickstart's tiny model is held in 4-bit
 * NF4 blocks (python/byzerllm_train/quantize.py) while LoRA adapters train on top, data-parallel
 * over 2 workers, until the model reproduces its training answers greedily; the merged result, registered as
 * an F16 GGUF (`--outtype f16`), is served on llama_cpp by `--deploy`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readGgufFileInfo } from 'node-llama-cpp';
import { ensureTinyHfModel, type JobRecord } from '../../src/train/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';

const PYTHON_ROOT = fileURLToPath(new URL('../../../python/', import.meta.url));
const ROWS: Array<{ instruction: string; output: string }> = [
  { instruction: 'Where do penguins live?', output: 'Penguins live in the south.' },
  { instruction: 'Name a warm colour', output: 'Red is a warm colour.' },
];

let home: TestHome;
let basePath: string;

before(async () => {
  home = await createTestHome();
  basePath = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
});
after(async () => {
  await home.cleanup();
});

test('NF4 blocks: 4.5 bits per weight, each value within half a level gap of its block scale', async () => {
  const script = `
import json, torch
from byzerllm_train.quantize import NF4_LEVELS, QuantizedLinear, dequantize_nf4, quantize_nf4
torch.manual_seed(0)
weight = torch.randn(96, 64)
codes, scales = quantize_nf4(weight)
restored = dequantize_nf4(codes, scales, weight.shape)
gap = (NF4_LEVELS[1:] - NF4_LEVELS[:-1]).max().item()
blocks = (weight - restored).abs().reshape(-1, 64).amax(dim=1) / scales
linear = torch.nn.Linear(64, 96)
layer = QuantizedLinear(linear)
stored = sum(buffer.numel() * buffer.element_size() for buffer in layer.buffers())
inputs = torch.randn(3, 64)
print(json.dumps({"worst": blocks.max().item(), "half_gap": gap / 2, "bits": stored * 8 / weight.numel(),
                  "exact_on_levels": bool(torch.equal(dequantize_nf4(*quantize_nf4(NF4_LEVELS), (16,)), NF4_LEVELS)),
                  "forward": (layer(inputs) - torch.nn.functional.linear(inputs, layer.weight, linear.bias)).abs().max().item()}))
`;
  const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', script], {
    env: { ...process.env, PYTHONPATH: PYTHON_ROOT },
  });
  const result = JSON.parse(stdout) as Record<string, number | boolean>;
  assert.ok((result.worst as number) <= (result.half_gap as number) + 1e-6, JSON.stringify(result));
  assert.equal(result.bits, 4.5, '4 bits per code plus an f32 scale per 64 weights');
  assert.equal(result.exact_on_levels, true, 'the levels themselves round-trip exactly');
  assert.ok((result.forward as number) < 1e-5, 'forward uses the dequantised weight');
});

test('finetune --qlora with 2 workers trains adapters over a 4-bit base until it answers; --deploy serves it', {
  timeout: 600_000,
}, async () => {
  const data = path.join(home.home, 'qlora.jsonl');
  await fs.writeFile(data, ROWS.map((row) => JSON.stringify(row)).join('\n'));
  const started = await home.run([
    'finetune',
    '--model_path',
    basePath,
    '--data',
    data,
    '--name',
    'qtuned',
    '--qlora',
    '--outtype',
    'f16',
    '--num_workers',
    '2',
    '--batch_size',
    '2',
    '--lr',
    '0.01',
    '--max_steps',
    '40',
    '--warmup_steps',
    '0',
    '--lora_dropout',
    '0',
    '--deploy',
    'qtuned_chat',
    '--follow',
  ]);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /deployed as qtuned_chat/);
  const record = JSON.parse((await home.run(['jobs', 'show', 'qtuned'])).stdout) as JobRecord;
  assert.equal(record.options.quantization, '4bit');
  assert.equal(record.workerPids.length, 2, 'two data-parallel workers ran');
  const registered = await readGgufFileInfo(record.outputs!.gguf, { readTensorInfo: false });
  assert.equal(registered.metadata.general.file_type, 1, 'the registered model.gguf is F16 (--outtype f16)');

  const events = (await home.run(['jobs', 'logs', 'qtuned'])).stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number | string>);
  const quantized = events.find((event) => event.event === 'quantized');
  assert.ok(quantized, 'the trainer reports its 4-bit base');
  assert.equal(quantized.method, 'nf4');
  assert.equal(quantized.modules, 7 * 2, 'q/k/v/o/gate/up/down of both layers are 4-bit');
  const steps = events.filter((event) => event.event === 'step');
  assert.ok((steps.at(-1)!.loss as number) < (steps[0]!.loss as number) / 10, 'the loss fell by 10x');

  for (const row of ROWS) {
    const result = await home.run(['query', '--model', 'qtuned_chat', '--query', row.instruction]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), row.output, `the answer to ${row.instruction}`);
  }
});

test('4-bit quantization with full training is refused in one line before any work starts', async () => {
  const data = path.join(home.home, 'qlora.jsonl');
  const full = await home.run([
    'pretrain',
    '--model_path',
    basePath,
    '--data',
    data,
    '--quantization',
    '4bit',
  ]);
  assert.equal(full.code, 2);
  assert.equal(
    full.stderr.trim(),
    'error: training option quantization: 4-bit quantization needs the lora method: 4-bit weights do not train (use --method lora or --qlora)',
  );
  const mixed = await home.run([
    'finetune',
    '--model_path',
    basePath,
    '--data',
    data,
    '--qlora',
    '--method',
    'full',
  ]);
  assert.equal(mixed.code, 2);
  assert.equal(
    mixed.stderr.trim(),
    'error: --qlora means --method lora --quantization 4bit; drop the other flag',
  );
});
