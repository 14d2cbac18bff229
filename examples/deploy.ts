/**
 * Seed 004 "基于 Ray 的启动和管理模型": deploying from code with the deploy-side setters, checking
 * and reading a deployment, and removing it.
 */
import type { ByzerLLM } from '../src/index.js';

export async function main(llm: ByzerLLM, inferParams: Record<string, string>) {
  await llm
    .setupNumWorkers(2)
    .setupWorkerConcurrency(4)
    .setupCpusPerWorker(0.001)
    .setupGpusPerWorker(0)
    .setupLoadBalanceWay('round_robin')
    .deploy({ udfName: 'deepseek_chat', pretrainedModelType: 'saas/openai', inferParams });
  const exists = await llm.isModelExist('deepseek_chat');
  const meta = await llm.getMeta({ model: 'deepseek_chat' });
  await llm.undeploy('deepseek_chat');
  return { exists, meta, existsAfter: await llm.isModelExist('deepseek_chat') };
}
