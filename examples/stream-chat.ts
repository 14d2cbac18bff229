/**
 * Seed 004 "Stream 模式": streamChatOai in delta mode, and chatOai with its meta. Both calls use the
 * client's default model, so `--model` picks the deployment like in the other examples:
 *   node dist/examples/run-example.js stream-chat --model deepseek_chat
 */
import type { ByzerLLM } from '../src/index.js';

export async function main(llm: ByzerLLM) {
  const pieces: string[] = [];
  for await (const [text] of llm.streamChatOai({
    conversations: [{ role: 'user', content: '你好，你是谁' }],
    deltaMode: true,
  })) {
    pieces.push(text);
  }
  const [response] = await llm.chatOai({
    conversations: [{ role: 'user', content: '你好，你是谁' }],
  });
  return { streamed: pieces.join(''), output: response!.output, meta: response!.meta };
}
