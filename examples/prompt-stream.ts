/** Seed 004 "Prompt 函数的流式输出": streaming with streamChatOai and with a prompt function. */
import { type ByzerLLM, prompt } from '../src/index.js';

export async function main(llm: ByzerLLM) {
  let cumulative = '';
  for await (const [text] of llm.streamChatOai({
    conversations: [{ role: 'user', content: '讲一个100字的故事' }],
  })) {
    cumulative = text; // without deltaMode each item is the text so far
  }
  const tellStory = prompt('给我讲一个一百多字的故事');
  let fromPromptFunction = '';
  for await (const delta of tellStory.withLlm(llm).stream()) fromPromptFunction += delta;
  return { cumulative, fromPromptFunction };
}
