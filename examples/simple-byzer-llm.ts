/**
 * Seed 004 "纯客户端启动和管理模型": SimpleByzerLLM deploys and calls models in this process, no head.
 */
import { prompt, SimpleByzerLLM } from '../src/index.js';

export async function main(baseUrl: string, apiKey: string) {
  const llm = new SimpleByzerLLM({ defaultModelName: 'deepseek_chat' });
  try {
    await llm.deploy({
      udfName: 'deepseek_chat',
      pretrainedModelType: 'saas/openai',
      inferParams: { 'saas.base_url': baseUrl, 'saas.api_key': apiKey, 'saas.model': 'deepseek-chat' },
    });
    const hello = prompt<{ q: string }>('你好, {{ q }}', { llm });
    const answer = await hello.run({ q: '你是谁' });
    const exists = await llm.isModelExist('deepseek_chat');
    await llm.undeploy('deepseek_chat');
    return { answer, exists, existsAfterUndeploy: await llm.isModelExist('deepseek_chat') };
  } finally {
    await llm.close();
  }
}
