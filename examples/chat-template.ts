/**
 * Seed 003 "Chat Template" / "LLM Default Generation Parameters": client templates, the engine's
 * own template ("auto"), model meta, extra generation params and chat prefix completion.
 */
import { applyTemplate, type ByzerLLM, Templates } from '../src/index.js';

export async function main(llm: ByzerLLM) {
  const meta = await llm.getMeta({ model: 'chat' });
  // For raw-prompt engines (meta.message_format false) the client flattens with the template:
  const qwenPrompt = applyTemplate(Templates.qwen(), [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Hello' },
  ]);
  llm.setupTemplate('chat', Templates.qwen());
  llm.setupExtraGenerationParams('chat', { 'gen.presence_penalty': 0.5 });
  const [templated] = await llm.chatOai({ conversations: 'Hello<|im_end|> and whatever follows' });
  llm.setupTemplate('chat', 'auto');
  // Chat prefix completion: the model continues the last assistant message.
  const [continued] = await llm.chatOai({
    conversations: [
      { role: 'user', content: 'Write a haiku' },
      { role: 'assistant', content: 'Autumn moon' },
    ],
    llmConfig: { 'gen.response_prefix': true, 'gen.stop': ['\n\n'] },
  });
  return { meta, qwenPrompt, templated: templated!.output, continued: continued! };
}
