/**
 * Data rows into examples, the DeepSpeed config mapping, the token file layout and the PNG chart:
 * the training layer's pure parts.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { test } from 'node:test';
import {
  readDeepspeedConfig,
  readJsonlExamples,
  readRowExamples,
  renderLineChart,
  trainingOptionsFromByzerSql,
} from '../../src/train/index.js';
import { serializeTokenFile } from '../../src/train/token-file.js';

test('alpaca, sharegpt, Byzer-LLM conversation and OpenAI messages rows become the same conversation', () => {
  const expected = [
    { role: 'user', content: 'Q' },
    { role: 'assistant', content: 'A' },
  ];
  const rows = [
    { instruction: 'Q', output: 'A' },
    {
      conversations: [
        { from: 'human', value: 'Q' },
        { from: 'gpt', value: 'A' },
      ],
    },
    { conversation: [{ human: 'Q', assistant: 'A' }] },
    { messages: expected },
  ];
  for (const example of readRowExamples(rows, 'auto'))
    assert.deepEqual(example, { kind: 'chat', messages: expected });
  const alpaca = readRowExamples(
    [{ instruction: 'Translate', input: 'hi', output: 'salut', system: 'S', history: [['h', 'a']] }],
    'alpaca',
  );
  assert.deepEqual(alpaca[0], {
    kind: 'chat',
    messages: [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'h' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'Translate\nhi' },
      { role: 'assistant', content: 'salut' },
    ],
  });
  assert.deepEqual(readRowExamples([{ text: 'corpus' }], 'auto'), [{ kind: 'text', text: 'corpus' }]);
});

test('a malformed row is named by row number and field before any work starts', () => {
  const jsonl = '{"instruction": "Q", "output": "A"}\n\n{"instruction": "Q2", "output": 7}\n';
  assert.throws(
    () => readJsonlExamples(jsonl, 'auto'),
    /^InvalidArgumentError: data row 3: field output: .*string/,
  );
  assert.throws(
    () => readJsonlExamples('{"instruction": "Q", "output": "A"}\nnot json\n', 'auto'),
    /data row 2: not valid JSON/,
  );
  assert.throws(
    () => readRowExamples([{ prompt: 'x' }], 'auto'),
    /data row 1: no known field.*\(fields: prompt\)/,
  );
  assert.throws(
    () => readRowExamples([{ messages: [{ role: 'user', content: 'only a question' }] }], 'auto'),
    /data row 1: the conversation has no assistant turn/,
  );
  assert.throws(
    () => readRowExamples([{ messages: [{ role: 'robot', content: 'x' }] }], 'messages'),
    /data row 1: field messages\.0\.role/,
  );
});

test('a DeepSpeed config: optimizer, batch, accumulation, clipping and precision are honoured, the rest named in warnings', () => {
  const { options, warnings } = readDeepspeedConfig(
    JSON.stringify({
      gradient_accumulation_steps: 4,
      train_micro_batch_size_per_gpu: 2,
      optimizer: { type: 'AdamW', params: { lr: 1e-4, eps: 1e-8, betas: [0.9, 0.95], weight_decay: 0.1 } },
      zero_optimization: { stage: 3 },
      gradient_clipping: 1.0,
      bf16: { enabled: true },
      tensorboard: { enabled: true },
    }),
  );
  assert.deepEqual(options, {
    gradientAccumulation: 4,
    batchSize: 2,
    learningRate: 1e-4,
    eps: 1e-8,
    betas: [0.9, 0.95],
    weightDecay: 0.1,
    maxGradNorm: 1,
    precision: 'bf16',
  });
  assert.deepEqual(
    warnings.map((warning) => warning.split(' ').slice(0, 3).join(' ')),
    ['deepspeedConfig field zero_optimization', 'deepspeedConfig field tensorboard'],
  );
  assert.throws(
    () => readDeepspeedConfig('{"gradient_clipping": "high"}'),
    /gradient_clipping must be a number/,
  );
});

test('the token file holds offsets, int32 tokens and the loss mask in the documented layout', () => {
  const bytes = serializeTokenFile([
    { tokens: [1, 2, 3], mask: [false, true, true] },
    { tokens: [70000], mask: [true] },
  ]);
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'BZTOKENS');
  const headerLength = Number(view.getBigUint64(8, true));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))), {
    version: 1,
    examples: 2,
    tokens: 4,
  });
  const offsets = Math.ceil((16 + headerLength) / 8) * 8;
  assert.deepEqual(
    [0, 1, 2].map((index) => Number(view.getBigInt64(offsets + 8 * index, true))),
    [0, 3, 4],
  );
  const tokens = offsets + 24;
  assert.deepEqual(
    [0, 1, 2, 3].map((index) => view.getInt32(tokens + 4 * index, true)),
    [1, 2, 3, 70000],
  );
  assert.deepEqual([...bytes.subarray(tokens + 16)], [0, 1, 1, 1]);
});

test('the loss chart is a valid PNG whose pixels show the curve', () => {
  const { png, range } = renderLineChart(
    [
      {
        points: [
          { x: 1, y: 4 },
          { x: 2, y: 2 },
          { x: 3, y: 1 },
        ],
        color: [31, 119, 180],
      },
    ],
    200,
    100,
  );
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(range, { xMin: 1, xMax: 3, yMin: 0, yMax: 4 });
  const view = new DataView(png.buffer, png.byteOffset);
  assert.equal(view.getUint32(16), 200);
  assert.equal(view.getUint32(20), 100);
  const idatLength = view.getUint32(33);
  const raw = zlib.inflateSync(png.subarray(41, 41 + idatLength));
  assert.equal(raw.length, (200 * 3 + 1) * 100);
  let blue = 0;
  for (let offset = 0; offset + 2 < raw.length; offset++) {
    if (raw[offset] === 31 && raw[offset + 1] === 119 && raw[offset + 2] === 180) blue++;
  }
  assert.ok(blue > 100, `the curve is drawn (${blue} blue pixels)`);
});

test('Byzer-SQL parameters map to job options; what cannot be honoured is a warning naming it', () => {
  const { options, detached } = trainingOptionsFromByzerSql(
    {
      pretrainedModelType: 'sft/llama2',
      localModelDir: '/models/llama',
      inputTable: 'sft_data',
      outputTable: 'llama2_300',
      detached: 'false',
      num_gpus: '2',
      'sft.int.max_seq_length': '512',
      'sft.float.learning_rate': '0.0001',
      'sft.str.optim': 'paged_adamw_32bit',
      localPathPrefix: '/tmp/jobs',
      tensorboard: 'true',
    },
    [{ instruction: 'Q', output: 'A' }],
  );
  assert.equal(detached, false);
  assert.deepEqual(
    { ...options, warnings: undefined },
    {
      kind: 'finetune',
      modelPath: '/models/llama',
      rows: [{ instruction: 'Q', output: 'A' }],
      name: 'llama2_300',
      numWorkers: 2,
      gpusPerWorker: 1,
      maxSeqLength: 512,
      learningRate: 0.0001,
      quantization: '4bit',
      warnings: undefined,
    },
  );
  assert.deepEqual(options.warnings, [
    "sft.str.optim is not used by byzerllm's trainer",
    "tensorboard is not used by byzerllm's trainer",
  ]);
  // Byzer-LLM's sft is QLoRA; plain LoRA is byzerllm's own choice, asked for by name.
  const sql = { pretrainedModelType: 'sft/llama2', localModelDir: '/m', localDataDir: '/data' };
  const lora = trainingOptionsFromByzerSql({ ...sql, 'sft.str.quantization': 'none' });
  assert.equal(lora.options.quantization, 'none');
  assert.deepEqual(lora.options.warnings, []);
  assert.throws(
    () => trainingOptionsFromByzerSql({ ...sql, 'sft.str.quantization': '8bit' }),
    /sft\.str\.quantization must be "4bit" \(QLoRA, the default\) or "none" \(LoRA\), got "8bit"/,
  );
  const pretrain = trainingOptionsFromByzerSql({
    pretrainedModelType: 'sfft/llama2',
    localModelDir: '/m',
    localDataDir: '/data',
    deepspeedConfig: '{"gradient_clipping": 0.5}',
    'sfft.int.max_length': '128',
  });
  assert.equal(pretrain.options.kind, 'pretrain');
  assert.equal(pretrain.options.quantization, undefined, 'continued pretraining trains every weight');
  assert.equal(pretrain.options.maxGradNorm, 0.5);
  assert.equal(pretrain.options.maxSeqLength, 128);
  assert.equal(pretrain.detached, true);
  assert.throws(
    () => trainingOptionsFromByzerSql({ pretrainedModelType: 'custom/auto', localModelDir: '/m' }),
    /not a training type; allowed: sft\/<model>, sfft\/<model>/,
  );
});
