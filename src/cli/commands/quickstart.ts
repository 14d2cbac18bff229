/**
 * `byzerllm quickstart`: the product working end to end on a fresh machine, with no key and no
 * network.
 *
 * It starts (or reuses) the embedded head, builds (or reuses) a tiny llama GGUF model under
 * `$BYZERLLM_HOME/models` (and the same model as a Hugging Face folder, the base for
 * `byzerllm finetune`), deploys it as `tiny_chat` on the llama_cpp engine with 2 worker
 * processes, streams an answer to the terminal, prints the deployment's `stat`, and shows the next
 * steps. Progress goes to stdout as numbered steps so a newcomer sees what happens and how long.
 * The tiny model has random weights: its answers are word salad, but every layer of the product
 * (CLI, head, worker processes, llama.cpp, chat template, streaming) is real.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveStateDirectory } from '../../cluster/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { ensureTinyLlamaModel } from '../../engines/llama-cpp/tiny-model/tiny-llama.js';
import { ensureTinyHfModel } from '../../train/index.js';
import { connect } from '../connect.js';
import { addAddressOptions } from '../options.js';

interface QuickstartFlags {
  address?: string;
  ray_address?: string;
  query: string;
  model: string;
}

const STEPS = 5;

export function registerQuickstart(program: Command): void {
  const command = program
    .command('quickstart')
    .description('offline demo: build a tiny local model, deploy it with 2 workers, stream an answer')
    .option('--model <name>', 'the deployment name to use', 'tiny_chat')
    .option('--query <text>', 'the question to ask', 'Hello! What can you do?');
  addAddressOptions(command).action(async (flags: QuickstartFlags) => {
    const started = performance.now();
    const step = (index: number, text: string) =>
      process.stdout.write(
        `[${index}/${STEPS}] ${text} (${((performance.now() - started) / 1000).toFixed(1)}s)\n`,
      );
    if (!flags.query.trim()) throw new InvalidArgumentError('--query must not be empty');

    step(1, 'connecting to the local head');
    const cluster = await connect(flags, {
      onStarting: () => process.stdout.write('      no head was running: starting one\n'),
    });
    try {
      step(2, 'building or reusing the tiny local model');
      const model = await ensureTinyLlamaModel(path.join(resolveStateDirectory(), 'models'));
      process.stdout.write(`      ${model.built ? 'built' : 'reusing'} ${model.path}\n`);
      // The same model as a Hugging Face folder: the base that `byzerllm finetune` trains.
      const trainable = await ensureTinyHfModel(path.join(resolveStateDirectory(), 'models'));
      process.stdout.write(
        `      ${trainable.built ? 'built' : 'reusing'} ${trainable.path} (for byzerllm finetune)\n`,
      );

      step(3, `deploying ${flags.model} (llama_cpp, 2 worker processes)`);
      const outcome = await cluster.deploy({
        name: flags.model,
        pretrainedModelType: 'custom/auto',
        inferBackend: 'llama_cpp',
        modelPath: model.path,
        numWorkers: 2,
        workerConcurrency: 2,
      });
      process.stdout.write(
        `      ${outcome.status === 'deployed' ? 'deployed' : 'already deployed'}: ${outcome.deployment.workers
          .map((worker) => `worker ${worker.index} pid ${worker.pid ?? '-'}`)
          .join(', ')}\n`,
      );

      step(4, `asking ${flags.model}: ${flags.query}`);
      const parts = await cluster.stream(flags.model, {
        messages: [{ role: 'user', content: flags.query }],
        maxTokens: 48,
        temperature: 0.8,
        seed: 7,
      });
      process.stdout.write('      ');
      for await (const part of parts) {
        if (part.type === 'text-delta') process.stdout.write(part.delta);
        if (part.type === 'error') throw part.error;
      }
      process.stdout.write(
        '\n      (a tiny model with random weights: the words are noise, the pipeline is real)\n',
      );

      step(5, `byzerllm stat --model ${flags.model}`);
      process.stdout.write(`${JSON.stringify(await cluster.stat(flags.model), null, 4)}\n`);
      process.stdout.write(nextSteps(flags.model));
    } finally {
      await cluster.close();
    }
  });
}

function nextSteps(model: string): string {
  return `
Next steps:
  byzerllm query --model ${model} --query "hi" --stream     ask again
  byzerllm deploy --pretrained_model_type saas/openai --model gpt_chat \\
      --infer_params saas.api_key=$OPENAI_API_KEY saas.model=gpt-4o-mini   deploy a SaaS model with your key
  byzerllm deploy --pretrained_model_type custom/auto --infer_backend llama_cpp \\
      --model_path /path/to/model.gguf --num_workers 2 --model my_llama    deploy your own GGUF
  byzerllm finetune --model_path ~/.byzerllm/models/tiny-llama-v1-hf --data train.jsonl --deploy my_tuned
                                                             finetune the tiny model (docs/training.md)
  byzerllm serve                                             an OpenAI-compatible server for every deployment
  byzerllm undeploy --model ${model}                          free its workers; byzerllm stop stops the head
`;
}
