/** Seed 004 "超长文本生成": long output over several turns with response markers. */
import { type ByzerLLM, prompt } from '../src/index.js';

export async function main(llm: ByzerLLM): Promise<string> {
  const tellStory = prompt('讲一个100字的故事。');
  return tellStory
    .withLlm(llm)
    .withResponseMarkers()
    .options({ llm_config: { max_length: 10 } })
    .run();
}
