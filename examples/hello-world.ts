/**
 * Seed 004 "hello world", "查看发送给大模型的prompt" and "动态换一个模型": a prompt function.
 * Run: node dist/examples/run-example.js hello-world --model deepseek_chat
 */
import { type ByzerLLM, prompt } from '../src/index.js';

export async function main(llm: ByzerLLM, otherLlm: ByzerLLM = llm) {
  const hello = prompt<{ q: string }>(
    `
    你好, {{ q }}
    `,
    { llm },
  );
  const answer = await hello.run({ q: '你是谁' });
  const rendered = hello.prompt({ q: '你是谁' }); // '你好, 你是谁'
  const fromOtherModel = await hello.withLlm(otherLlm).run({ q: '你是谁' });
  return { answer, rendered, fromOtherModel };
}
