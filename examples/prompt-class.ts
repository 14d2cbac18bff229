/**
 * Seed 003 "Prompt Function && Prompt Class": `simple` rendering with `{name}` placeholders, a
 * prompt function inside a class (llm from `this`, or none to get the rendered prompt), and a typed
 * result.
 */
import { z } from 'zod';
import { asPrompt, type ByzerLLM, prompt, promptMethod } from '../src/index.js';

export const context = `
Byzer产品栈从底层存储到大模型管理和serving再到应用开发框架：
1. Byzer-Retrieval, 一个支持向量+搜索的混合检索数据库。
2. Byzer-LLM, 可以衔接SaaS/开源模型，能部署，可以统一入口。
6. Byzer-SQL， 一套全SQL方言，支持ETL，数据分析等工作，并且支持大模型的管理和调用（model as UDF）,方便数据预处理。
`;

const template = `
  Answer the question based on only the following context:
  {context}
  Question: {question}
  Answer:
`;

export const ByzerProductDesc = z.object({
  byzer_retrieval: z.string(),
  byzer_llm: z.string(),
  byzer_sql: z.string(),
});

type Args = { context: string; question: string };

export class RAG {
  constructor(readonly llm: ByzerLLM) {}

  @promptMethod<RAG, Args>(template, { llm: (self) => self.llm, render: 'simple' })
  generateAnswer(_args: Args): void {}

  /** No llm: calling it returns the rendered prompt. */
  @promptMethod<RAG, Args>(template, { render: 'simple' })
  renderAnswerPrompt(_args: Args): void {}
}

export async function main(llm: ByzerLLM) {
  const generateAnswer = prompt<Args>(template, { llm, render: 'simple' });
  const question = 'Byzer SQL是什么？';
  const answer = await generateAnswer.run({ context, question });
  const rag = new RAG(llm);
  const fromClass = await rag.generateAnswer({ context, question });
  const renderedOnly = rag.renderAnswerPrompt({ context, question });
  const typed = await asPrompt(rag.generateAnswer)
    .withReturnType(ByzerProductDesc)
    .run({ context, question });
  return { answer, fromClass, renderedOnly, typed };
}
