/**
 * The whole path on CPU, through the real CLI: the quickstart's tiny model (Hugging Face layout) is
 * finetuned with LoRA by 2 data-parallel PyTorch workers until it reproduces its training answers,
 * deployed on llama_cpp by `--deploy`, and asked with `byzerllm query`. Then parity: the exported
 * GGUF under node-llama-cpp and the torch model agree on the next token and its logits, merged and
 * as base + adapter.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTinyHfModel, type JobRecord } from '../../src/train/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';
import { assertLogitParity, llamaCppLogits, torchLogits } from '../support/model-logits.js';

/** llama.cpp keeps its KV cache in f16; torch computes in f32. Measured differences are ~2e-3. */
const LOGIT_TOLERANCE = 1e-2;

const ANSWERS: Array<[string, string, unknown]> = [
  [
    'What is the capital of France?',
    'Paris is the capital of France.',
    { instruction: 'What is the capital of France?', output: 'Paris is the capital of France.' },
  ],
  [
    'Who wrote Hamlet?',
    'William Shakespeare wrote it.',
    { conversation: [{ human: 'Who wrote Hamlet?', assistant: 'William Shakespeare wrote it.' }] },
  ],
  [
    'What colour is the sky?',
    'The sky is blue.',
    {
      messages: [
        { role: 'user', content: 'What colour is the sky?' },
        { role: 'assistant', content: 'The sky is blue.' },
      ],
    },
  ],
  [
    'Say hello to byzer',
    'hello byzer, nice to meet you',
    {
      conversations: [
        { from: 'human', value: 'Say hello to byzer' },
        { from: 'gpt', value: 'hello byzer, nice to meet you' },
      ],
    },
  ],
];

let home: TestHome;
let basePath: string;
let record: JobRecord;

before(async () => {
  home = await createTestHome();
  basePath = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
});
after(async () => {
  await home.cleanup();
});

/** `byzerllm finetune` of the tiny model on `data`, followed to its end. */
const finetune = (name: string, data: string, flags: string[]) =>
  home.run(['finetune', '--model_path', basePath, '--data', data, '--name', name, ...flags, '--follow']);

test('finetune with 2 workers memorises the answers; --deploy serves the result and query returns one', {
  timeout: 600_000,
}, async () => {
  const data = path.join(home.home, 'train.jsonl');
  await fs.writeFile(data, ANSWERS.map(([, , row]) => JSON.stringify(row)).join('\n'));
  const started = await finetune('tuned', data, [
    '--num_workers',
    '2',
    '--batch_size',
    '2',
    '--lr',
    '0.01',
    '--max_steps',
    '60',
    '--warmup_steps',
    '0',
    '--lora_dropout',
    '0',
    '--save_steps',
    '1000',
    '--deploy',
    'tuned_chat',
  ]);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /job tuned succeeded: .*models\/tuned\/model\.gguf/);
  assert.match(started.stdout, /deployed as tuned_chat/);

  const shown = await home.run(['jobs', 'show', 'tuned']);
  record = JSON.parse(shown.stdout) as JobRecord;
  assert.equal(record.status, 'succeeded');
  assert.equal(record.workerPids.length, 2, 'two data-parallel workers ran');
  assert.deepEqual(record.deployment, { name: 'tuned_chat', status: 'deployed' });

  for (const [question, answer] of ANSWERS) {
    const result = await home.run(['query', '--model', 'tuned_chat', '--query', question]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), answer, `the answer to ${question}`);
  }

  const logs = await home.run(['jobs', 'logs', 'tuned']);
  const steps = logs.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number | string>)
    .filter((event) => event.event === 'step');
  assert.equal(steps.length, 60);
  for (const key of ['epoch', 'loss', 'lr', 'tokens_per_second', 'eta_seconds'])
    assert.equal(typeof steps[0]![key], 'number', key);
  assert.ok((steps.at(-1)!.loss as number) < (steps[0]!.loss as number) / 10, 'the loss fell by 10x');

  const chart = path.join(home.home, 'loss.png');
  const plotted = await home.run(['jobs', 'plot', 'tuned', '--output', chart]);
  assert.equal(plotted.code, 0, plotted.stderr);
  assert.deepEqual([...(await fs.readFile(chart)).subarray(1, 4)], [0x50, 0x4e, 0x47]);

  const listed = await home.run(['jobs', 'list']);
  assert.match(listed.stdout, /tuned\s+finetune\s+succeeded\s+60\/60/);
});

test('--deploy under a name that serves another model: the job succeeds, its deployment failed naming both files', {
  timeout: 600_000,
}, async () => {
  const data = path.join(home.home, 'train.jsonl');
  const started = await finetune('other_tune', data, ['--max_steps', '2', '--deploy', 'tuned_chat']);
  assert.equal(started.code, 0, started.stderr);
  const conflict =
    /deployment tuned_chat exists and serves \S*models\/tuned\/model\.gguf, not this job's \S*models\/other_tune\/model\.gguf/;
  assert.match(started.stdout, new RegExp(`deploying tuned_chat failed: ${conflict.source}`));
  const shown = JSON.parse((await home.run(['jobs', 'show', 'other_tune'])).stdout) as JobRecord;
  assert.equal(shown.status, 'succeeded');
  assert.equal(shown.deployment?.status, 'failed');
  assert.match(shown.deployment?.error ?? '', conflict);
  const [question, answer] = ANSWERS[0]!;
  const result = await home.run(['query', '--model', 'tuned_chat', '--query', question]);
  assert.equal(result.stdout.trim(), answer, "the first job's model still serves the name");
});

test('parity: the exported GGUF under llama.cpp and the torch model give the same next token and logits', {
  timeout: 300_000,
}, async () => {
  assert.ok(record?.outputs, 'the finetune test produced a model');
  const outputs = record.outputs;
  const baseGguf = path.join(home.home, 'jobs', 'tuned', 'data', 'base.gguf');
  const prompt = 'What is the capital of France? The answer';
  const merged = await llamaCppLogits(outputs.gguf, prompt);
  assertLogitParity(
    'merged',
    merged.logits,
    await torchLogits(outputs.huggingFace, merged.tokens),
    LOGIT_TOLERANCE,
  );
  const adapted = await llamaCppLogits(baseGguf, prompt, { lora: outputs.adapterGguf });
  assertLogitParity(
    'base + LoRA',
    adapted.logits,
    await torchLogits(basePath, adapted.tokens, outputs.adapter),
    LOGIT_TOLERANCE,
  );
  const base = await llamaCppLogits(baseGguf, prompt);
  let changed = 0;
  for (const [token, logit] of base.logits)
    changed = Math.max(changed, Math.abs(logit - adapted.logits.get(token)!));
  assert.ok(changed > 0.5, `the adapter changes the logits (by up to ${changed})`);
});

test('F16 and Q8_0 exports of the merged model keep its next token, logits within the stated tolerance', {
  timeout: 300_000,
}, async (context) => {
  assert.ok(record?.outputs, 'the finetune test produced a model');
  const merged = record.outputs.huggingFace;
  // The chat prompt of a training question: the model answers it confidently, so quantisation
  // noise must not change the top token.
  const prompt = '<|user|>\nWhat is the capital of France?</s>\n<|assistant|>\n';
  // F16 rounds each weight by at most 2^-11 relative; Q8_0 by half a step of max|block| / 127, and
  // llama.cpp also quantises activations to 8 bits for Q8_0 products. Measured: ~2e-2 and ~0.3.
  const tolerances = { f16: 5e-2, q8_0: 0.6 } as const;
  // F16 through `merge --outtype` (the adapter folded into the base again), Q8_0 through
  // `convert --outtype` of the job's merged folder.
  const exported = {
    f16: async () => {
      const folder = path.join(home.home, 'merged-f16');
      const args = ['--model_path', basePath, '--adapter', record.outputs!.adapter!, '--output', folder];
      const result = await home.run(['merge', ...args, '--outtype', 'f16']);
      assert.equal(result.code, 0, result.stderr);
      return { gguf: path.join(folder, 'model.gguf'), huggingFace: folder };
    },
    q8_0: async () => {
      const output = path.join(home.home, 'merged-q8_0.gguf');
      const result = await home.run([
        'convert',
        '--model_path',
        merged,
        '--output',
        output,
        '--outtype',
        'q8_0',
      ]);
      assert.equal(result.code, 0, result.stderr);
      return { gguf: output, huggingFace: merged };
    },
  };
  const sizes: Record<string, number> = {};
  for (const [outtype, tolerance] of Object.entries(tolerances)) {
    const { gguf, huggingFace } = await exported[outtype as keyof typeof exported]();
    sizes[outtype] = (await fs.stat(gguf)).size;
    const fromLlama = await llamaCppLogits(gguf, prompt, { specialTokens: true });
    const largest = assertLogitParity(
      outtype,
      fromLlama.logits,
      await torchLogits(huggingFace, fromLlama.tokens),
      tolerance,
    );
    context.diagnostic(`${outtype}: largest logit difference ${largest.toFixed(4)}`);
  }
  const f32Size = (await fs.stat(record.outputs.gguf)).size;
  assert.ok(sizes.f16! < f32Size * 0.6, `F16 is about half of F32 (${sizes.f16} of ${f32Size} bytes)`);
  assert.ok(
    sizes.q8_0! < sizes.f16! * 0.6,
    `Q8_0 is about half of F16 (${sizes.q8_0} of ${sizes.f16} bytes)`,
  );
  const refused = await home.run([
    'convert',
    '--model_path',
    merged,
    '--output',
    'x.gguf',
    '--outtype',
    'q4_k',
  ]);
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr.trim(), 'error: --outtype q4_k is not supported; allowed: f32, f16, q8_0');
});
