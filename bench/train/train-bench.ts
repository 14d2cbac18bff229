/**
 * bench/train: training throughput of byzerllm's job path against a bare torch loop, in one run.
 *
 * Same model (the tiny vocabulary, n_embd 128, 2 layers, random init from its config), same token
 * file, same batch (8 × 128 tokens), one worker, fp32 on CPU:
 * - bare: `bench/train/bare_loop.py`, forward / cross-entropy / backward / AdamW and nothing else;
 * - job:  `startTrainingJob` (pretrain, full): the detached supervisor, the trainer with its
 *         schedule, clipping, masking, progress lines; its `done` event's tokens/s.
 * Rounds alternate bare / job; the ratio is job ÷ bare per round, and the median is reported
 * (goal ≥ 0.9).
 *
 * Run: npx tsc -p . && node dist/bench/train/train-bench.js [--steps 20] [--rounds 2]
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTinyHfModel, followTrainingJob, startTrainingJob } from '../../src/train/index.js';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const STEPS = argument('--steps', 20);
const ROUNDS = argument('--rounds', 2);
const BATCH = 8;
const LENGTH = 128;
const PACKAGE = fileURLToPath(new URL('../../../python/', import.meta.url));
const BARE_LOOP = fileURLToPath(new URL('../../../bench/train/bare_loop.py', import.meta.url));

const home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-bench-train-'));
try {
  const tiny = await ensureTinyHfModel(path.join(home, 'models'));
  const model = path.join(home, 'bench-model');
  await fs.cp(tiny.path, model, { recursive: true });
  await fs.rm(path.join(model, 'model.safetensors'));
  const config = JSON.parse(await fs.readFile(path.join(model, 'config.json'), 'utf8'));
  Object.assign(config, {
    hidden_size: 128,
    intermediate_size: 256,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
  });
  await fs.writeFile(path.join(model, 'config.json'), JSON.stringify(config));
  const corpus = path.join(home, 'corpus.txt');
  const sentence = 'the model can write the answer for you, hello byzer, the water is hot today. ';
  await fs.writeFile(corpus, sentence.repeat(BATCH * STEPS * 2));

  const rows: Array<{ bare: number; job: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `bench-${round}`;
    await startTrainingJob(
      {
        kind: 'pretrain',
        modelPath: model,
        fromConfig: true,
        data: corpus,
        name,
        batchSize: BATCH,
        maxSeqLength: LENGTH,
        maxSteps: STEPS,
        evalRatio: 0,
        saveSteps: 1_000_000,
        learningRate: 1e-3,
      },
      { stateDirectory: home },
    );
    let jobRate = Number.NaN;
    const events = followTrainingJob(name, { stateDirectory: home });
    for (;;) {
      const next = await events.next();
      if (next.done) {
        if (next.value.status !== 'succeeded') throw new Error(`bench job ${name}: ${next.value.reason}`);
        break;
      }
      if (next.value.event === 'done') jobRate = Number(next.value.tokens_per_second);
    }
    const tokens = path.join(home, 'jobs', name, 'data', 'train.tokens');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [
      BARE_LOOP,
      '--package',
      PACKAGE,
      '--model',
      model,
      '--tokens',
      tokens,
      '--batch',
      String(BATCH),
      '--length',
      String(LENGTH),
      '--steps',
      String(STEPS),
    ]);
    const bareRate = (JSON.parse(stdout) as { tokens_per_second: number }).tokens_per_second;
    rows.push({ bare: bareRate, job: jobRate });
    process.stderr.write(
      `round ${round + 1}/${ROUNDS}: bare ${bareRate.toFixed(0)} tok/s, job ${jobRate.toFixed(0)} tok/s\n`,
    );
  }
  const ratios = rows.map((row) => row.job / row.bare).sort((left, right) => left - right);
  const median = ratios[Math.floor(ratios.length / 2)]!;
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  process.stdout.write('| path | ratio to bare (median of rounds) | tokens/s (mean) |\n|---|---|---|\n');
  process.stdout.write(`| bare torch loop | 1.000 | ${mean(rows.map((row) => row.bare)).toFixed(0)} |\n`);
  process.stdout.write(
    `| byzerllm job (1 worker) | ${median.toFixed(3)} | ${mean(rows.map((row) => row.job)).toFixed(0)} |\n`,
  );
  process.stdout.write(
    `\nbatch ${BATCH} × ${LENGTH} tokens, ${STEPS} steps, ${ROUNDS} rounds; load: ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}\n`,
  );
} finally {
  await fs.rm(home, { recursive: true, force: true });
}
