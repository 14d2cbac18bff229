/**
 * Next-token logits of one prompt from both sides of a conversion: llama.cpp (node-llama-cpp) on a
 * GGUF, and the PyTorch model (`python3 -m byzerllm_train logits`) on a Hugging Face folder, plus the
 * parity check the training tests share (same top-1 token, every logit within a tolerance).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const PYTHON_ROOT = fileURLToPath(new URL('../../../python/', import.meta.url));

/** The prompt's tokens under the GGUF's own tokenizer, and llama.cpp's logits after the last one. */
export async function llamaCppLogits(
  modelPath: string,
  prompt: string,
  options: { lora?: string; specialTokens?: boolean } = {},
): Promise<{ tokens: number[]; logits: Map<number, number> }> {
  const { lora } = options;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: 256,
    threads: 1,
    ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
  });
  try {
    const tokens = [...model.tokenize(prompt, options.specialTokens ?? false)];
    const results = await context
      .getSequence()
      .controlledEvaluate(
        tokens.map((token, index) =>
          index === tokens.length - 1 ? [token, { generateNext: { logits: true } }] : token,
        ),
      );
    return { tokens, logits: results.at(-1)!.next!.logits! };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** PyTorch's logits after `tokens` for a Hugging Face folder (with a PEFT adapter applied if given). */
export async function torchLogits(modelPath: string, tokens: number[], adapter?: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)(
    '/usr/bin/python3',
    [
      '-m',
      'byzerllm_train',
      'logits',
      '--model',
      modelPath,
      '--tokens',
      tokens.join(','),
      ...(adapter ? ['--adapter', adapter] : []),
    ],
    { env: { ...process.env, PYTHONPATH: PYTHON_ROOT } },
  );
  return (JSON.parse(stdout) as { logits: number[] }).logits;
}

/** Asserts the same top-1 token and every logit within `tolerance`; returns the largest difference. */
export function assertLogitParity(
  what: string,
  fromLlama: Map<number, number>,
  fromTorch: number[],
  tolerance: number,
): number {
  assert.equal(fromLlama.size, fromTorch.length, `${what}: vocabulary size`);
  const top = (entries: Array<[number, number]>) =>
    entries.reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
  assert.equal(
    top([...fromLlama.entries()]),
    top(fromTorch.map((logit, token) => [token, logit])),
    `${what}: top-1 token`,
  );
  let largest = 0;
  for (const [token, logit] of fromLlama) largest = Math.max(largest, Math.abs(logit - fromTorch[token]!));
  assert.ok(largest < tolerance, `${what}: largest logit difference ${largest} is within ${tolerance}`);
  return largest;
}
