/** Seed 004 "自定义字段抽取": an extractor that takes the text between <REGEX> tags. */
import { type ByzerLLM, prompt } from '../src/index.js';

const generateRegexPattern = prompt<{ desc: string }>(`
  根据下面的描述生成一个正则表达式，要符合 JavaScript RegExp 的要求。

  {{ desc }}

  最后生成的正则表达式要在<REGEX></REGEX>标签对里。
`);

function extractRegexPattern(regexBlock: string): string {
  const match = /<REGEX>(.*)<\/REGEX>/s.exec(regexBlock);
  if (!match) throw new Error(`no regex pattern found in the generated block:\n${regexBlock}`);
  return match[1]!;
}

export async function main(llm: ByzerLLM): Promise<string> {
  return generateRegexPattern
    .withLlm(llm)
    .withExtractor(extractRegexPattern)
    .run({ desc: '匹配一个邮箱地址' });
}
