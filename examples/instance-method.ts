/**
 * Seed 004 "在实例方法中使用大模型" and "通过 Python 代码处理复杂入参": prompt functions as class
 * methods whose llm comes from `this`, and a method body that computes template variables.
 */
import { asPrompt, type ByzerLLM, promptMethod } from '../src/index.js';

export const data = {
  name: 'Jane Doe',
  task_count: 3,
  tasks: [
    { name: 'Submit report', due_date: '2024-03-10' },
    { name: 'Finish project', due_date: '2024-03-15' },
    { name: 'Reply to emails', due_date: '2024-03-08' },
  ],
};
type Data = typeof data;

export class RAG {
  constructor(readonly llm: ByzerLLM) {}

  /** Loops in the template (nunjucks, jinja2-compatible). */
  @promptMethod<RAG, Data>(
    `
    Hello {{ name }},

    This is a reminder that you have {{ task_count }} pending tasks:
    {% for task in tasks %}
    - Task: {{ task.name }} | Due: {{ task.due_date }}
    {% endfor %}

    Best regards,
    Your Reminder System
    `,
    { llm: (self) => self.llm },
  )
  generateAnswer(_args: Data): void {}

  /** The body computes `tasks` as text instead. */
  @promptMethod<RAG, Data>(
    `
    Hello {{ name }},

    This is a reminder that you have {{ task_count }} pending tasks:

    {{ tasks }}

    Best regards,
    Your Reminder System
    `,
  )
  generateAnswerFromCode(args: Data) {
    return { tasks: args.tasks.map((task) => `- Task: ${task.name} | Due: ${task.due_date}`).join('\n') };
  }
}

export async function main(llm: ByzerLLM) {
  const rag = new RAG(llm);
  const viaThis = await asPrompt(rag.generateAnswer).run(data);
  const viaWithLlm = await asPrompt(rag.generateAnswerFromCode).withLlm(rag.llm).run(data);
  const rendered = asPrompt(rag.generateAnswerFromCode).prompt(data);
  return { viaThis, viaWithLlm, rendered };
}
