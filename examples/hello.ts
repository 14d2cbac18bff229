/**
 * Byzer-LLM's `examples/hello.py` in lite mode, line by line: a model from the models registry
 * (`~/.auto-coder/keys/models.json` and its key file), deployed in this process, and a prompt function.
 *
 *   import byzerllm
 *   llm = byzerllm.get_single_llm("ark_v3_0324_chat", product_mode="lite")
 *   @byzerllm.prompt()
 *   def hello(name: str) -> str:
 *       '''
 *       你好 {{ name }}
 *       '''
 *   print(hello.with_llm(llm).run("张三"))
 *
 * Run: node dist/examples/run-example.js hello [MODEL_NAME] [KEYS_DIRECTORY]
 */
import { getSingleLlm, prompt } from '../src/index.js';

export async function main(modelName = 'ark_v3_0324_chat', keysDirectory?: string) {
  const llm = await getSingleLlm(modelName, {
    productMode: 'lite',
    ...(keysDirectory ? { keysDirectory } : {}),
  });
  try {
    const hello = prompt<{ name: string }>(`
      你好 {{ name }}
    `);
    return await hello.withLlm(llm).run({ name: '张三' });
  } finally {
    await llm.close();
  }
}
