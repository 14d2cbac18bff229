/**
 * Seed 004 "对象输出" and seed 003 "Respond with pydantic class": zod schemas instead of pydantic.
 */
import { z } from 'zod';
import { type ByzerLLM, prompt } from '../src/index.js';

export const Story = z.object({
  title: z.string().describe('故事的标题'),
  body: z.string().describe('故事主体'),
});

export async function main(llm: ByzerLLM) {
  // A prompt function with a typed result (structured output under the hood).
  const tellStory = prompt('讲一个100字的故事。').withReturnType(Story);
  const fromPromptFunction = await tellStory.withLlm(llm).run();

  // The recommended way: ask for the JSON in the template, parse it with withReturnType.
  const tellStoryJson = prompt(`
    讲一个100字的故事。

    返回符合以下格式的JSON:

    \`\`\`json
    {
        "title": "故事的标题",
        "body": "故事主体"
    }
    \`\`\`
  `);
  const fromTemplateJson = await tellStoryJson.withLlm(llm).withReturnType(Story).run();

  // chatOai with responseClass, directly and after a normal answer.
  const question = [{ role: 'user', content: '请给我讲个故事，分成两个部分，一个标题，一个故事主体' }];
  const [direct] = await llm.chatOai({ conversations: question, responseClass: Story });
  const [afterChat] = await llm.chatOai({
    conversations: question,
    responseClass: Story,
    responseAfterChat: true,
  });
  return { fromPromptFunction, fromTemplateJson, direct: direct!.value, afterChat: afterChat!.value };
}

/** Seed 003: a custom structured-output prompt for one model. */
export async function withCustomFormat(llm: ByzerLLM, model: string) {
  llm.setupResponseClassFormatFunc(
    model,
    ({ question, schema }) =>
      `${question}\n\nReply with JSON following this JSON Schema:\n\`\`\`json\n${JSON.stringify(schema)}\n\`\`\``,
  );
  const [response] = await llm.chatOai({
    model,
    conversations: '讲个故事',
    responseClass: Story,
    structuredMode: 'prompt',
  });
  return response!;
}
