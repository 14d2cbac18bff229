/**
 * Byzer-SQL's training form through `byzerllm sql -f`: `!byzerllm setup sft; run command as LLM.``
 * where pretrainedModelType="sft/llama2" and inputTable=… detached="false"` finetunes on the table's
 * rows with QLoRA (Byzer-LLM's sft) and returns the finished job; `sfft/…` with a `deepspeedConfig` starts continued pretraining
 * detached, honouring its optimizer, batch and clipping fields and warning about the rest; GPUs that
 * `!byzerllm setup "num_gpus=N"` asks for and that are not there are refused in one line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTinyHfModel, type JobRecord } from '../../src/train/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';

let home: TestHome;
let basePath: string;

before(async () => {
  home = await createTestHome();
  basePath = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
  await fs.writeFile(
    path.join(home.home, 'sft.jsonl'),
    [
      { instruction: 'What is two plus two?', output: 'Four.' },
      { instruction: 'Translate', input: 'hello', output: 'bonjour' },
      { instruction: 'Name a fruit', output: 'An apple.' },
    ]
      .map((row) => JSON.stringify(row))
      .join('\n'),
  );
  await fs.writeFile(
    path.join(home.home, 'corpus.jsonl'),
    Array.from({ length: 12 }, (_, index) =>
      JSON.stringify({ text: `the water is hot today, day ${index}.` }),
    ).join('\n'),
  );
});
after(async () => {
  await home.cleanup();
});

async function runScript(name: string, script: string) {
  const file = path.join(home.home, name);
  await fs.writeFile(file, script);
  return home.run(['sql', '-f', file, '--output', 'json']);
}

async function readJobEvents(name: string): Promise<Array<Record<string, unknown>>> {
  const logs = await home.run(['jobs', 'logs', name]);
  assert.equal(logs.code, 0, logs.stderr);
  return logs.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function showJob(name: string): Promise<JobRecord> {
  const shown = await home.run(['jobs', 'show', name]);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as JobRecord;
}

test('sft/llama2 with detached="false" trains on the input table and returns the finished job', {
  timeout: 300_000,
}, async () => {
  const result = await runScript(
    'sft.sql',
    `load jsonl.\`${path.join(home.home, 'sft.jsonl')}\` as sft_data;
!byzerllm setup sft;
run command as LLM.\`\` where pretrainedModelType="sft/llama2" and localModelDir="${basePath}"
  and inputTable="sft_data" and outputTable="sql_sft" and detached="false"
  and \`sft.int.max_steps\`="2" and \`sft.int.per_device_train_batch_size\`="2"
  and \`sft.int.lora_rank\`="4" and \`sft.str.optim\`="paged_adamw_32bit";
`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^warning: sft\.str\.optim is not used by byzerllm's trainer$/m);
  const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(rows, [
    { job: 'sql_sft', status: 'succeeded', model: path.join(home.home, 'models', 'sql_sft', 'model.gguf') },
  ]);
  const record = await showJob('sql_sft');
  assert.equal(record.options.kind, 'finetune');
  assert.equal(record.options.maxSteps, 2);
  assert.equal(record.options.batchSize, 2);
  assert.equal(record.options.loraRank, 4);
  // Byzer-LLM's sft is QLoRA: the SQL form quantises the base to 4-bit NF4 under the adapters.
  assert.equal(record.options.quantization, '4bit');
  const quantized = (await readJobEvents('sql_sft')).find((event) => event.event === 'quantized');
  assert.equal(quantized?.method, 'nf4', 'the trainer quantised the base weights');
  const examples = await fs.readFile(
    path.join(home.home, 'jobs', 'sql_sft', 'data', 'examples.jsonl'),
    'utf8',
  );
  assert.equal(
    examples.trim().split('\n').length,
    3,
    "every row of the table (NULL 'input' counts as absent)",
  );
});

test('sfft/llama2 with a deepspeedConfig starts detached; honoured fields set the job, the rest are warnings', {
  timeout: 300_000,
}, async () => {
  const deepspeed = JSON.stringify({
    train_micro_batch_size_per_gpu: 3,
    gradient_accumulation_steps: 2,
    gradient_clipping: 0.5,
    optimizer: { type: 'AdamW', params: { lr: 0.002, betas: [0.9, 0.95], weight_decay: 0.1 } },
    zero_optimization: { stage: 3, offload_optimizer: { device: 'cpu' } },
  });
  const result = await runScript(
    'sfft.sql',
    `load jsonl.\`${path.join(home.home, 'corpus.jsonl')}\` as corpus;
run command as LLM.\`\` where pretrainedModelType="sfft/llama2" and localModelDir="${basePath}"
  and inputTable="corpus" and outputTable="sql_sfft" and deepspeedConfig='''${deepspeed}'''
  and \`sfft.int.max_length\`="16" and \`sfft.int.max_steps\`="2";
`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^warning: .*zero_optimization.*$/m);
  const [row] = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  assert.equal(row!.job, 'sql_sfft');
  assert.ok(['queued', 'running', 'preparing'].includes(row!.status as string), `detached: ${row!.status}`);

  const followed = await home.run(['jobs', 'logs', 'sql_sfft', '--follow']);
  assert.equal(followed.code, 0, followed.stderr);
  const record = await showJob('sql_sfft');
  assert.equal(record.status, 'succeeded', record.reason);
  assert.equal(record.options.kind, 'pretrain');
  assert.equal(record.options.batchSize, 3);
  assert.equal(record.options.gradientAccumulation, 2);
  assert.equal(record.options.maxGradNorm, 0.5);
  assert.equal(record.options.learningRate, 0.002);
  assert.deepEqual(record.options.betas, [0.9, 0.95]);
  assert.equal(record.options.maxSeqLength, 16);
});

test('!byzerllm setup "num_gpus=1" asks for a GPU that is not there: one line, no job', async () => {
  const result = await runScript(
    'gpu.sql',
    `load jsonl.\`${path.join(home.home, 'sft.jsonl')}\` as sft_data;
!byzerllm setup "num_gpus=1";
run command as LLM.\`\` where pretrainedModelType="sft/llama2" and localModelDir="${basePath}"
  and inputTable="sft_data" and outputTable="sql_gpu";
`,
  );
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /the job asks for 1 GPUs \(1 workers × 1\), torch sees 0 on this machine/);
  const shown = await home.run(['jobs', 'show', 'sql_gpu']);
  assert.notEqual(shown.code, 0, 'no job was created');
});
