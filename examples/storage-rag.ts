/**
 * RAG with Byzer storage (docs/storage.md): load a folder of markdown files, chunk them, write the
 * chunks (embedded by `emb`, word-segmented for full-text), find the best chunks for a question by
 * hybrid query, and answer with a chat model through a prompt function.
 *
 * Run (a head with `emb` and a chat model deployed):
 *   byzerllm storage start --enable_emb --emb_model_path ./bge-model
 *   node dist/examples/run-example.js storage-rag --model deepseek_chat ./docs "How do I deploy a model?"
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ByzerLLM, ByzerStorage, DataType, FieldOption, prompt } from '../src/index.js';

/** Paragraphs, packed into chunks of at most `size` characters. */
export function chunkMarkdown(text: string, size = 400): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of text
    .split(/\n\s*\n/)
    .map((part) => part.trim())
    .filter(Boolean)) {
    if (current && current.length + paragraph.length + 2 > size) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${paragraph}` : paragraph;
  }
  if (current) chunks.push(current);
  return chunks;
}

const answerWithContext = prompt<{ question: string; contexts: { file: string; text: string }[] }>(`
  Answer the question with the documents below. Say which file the answer comes from.

  {% for context in contexts %}
  <document file="{{ context.file }}">
  {{ context.text }}
  </document>
  {% endfor %}

  Question: {{ question }}
`);

/**
 * `folder`: `.md` files to load; `storage` defaults to table `chunks` of database `rag` in the
 * head's store.
 */
export async function main(llm: ByzerLLM, folder: string, question: string, storage?: ByzerStorage) {
  storage ??= new ByzerStorage('byzerai_store', 'rag', 'chunks', { llm });
  await storage
    .schemaBuilder()
    .addField('_id', DataType.STRING)
    .addField('file', DataType.STRING)
    .addField('content', DataType.STRING, [FieldOption.ANALYZE])
    .addField('text', DataType.STRING, [FieldOption.NO_INDEX])
    .addArrayField('vector', DataType.FLOAT)
    .execute();
  await storage.truncateTable(); // this example reloads the folder each run

  const items = [];
  for (const file of (await fs.readdir(folder)).filter((name) => name.endsWith('.md')).sort()) {
    const text = await fs.readFile(path.join(folder, file), 'utf8');
    for (const [index, chunk] of chunkMarkdown(text).entries()) {
      items.push({ _id: `${file}#${index}`, file, content: chunk, text: chunk, vector: chunk });
    }
  }
  await storage.writeBuilder().addItems(items, ['vector'], ['content']).execute();
  await storage.commit();

  const hits = await storage
    .queryBuilder()
    .setSearchQuery(question, ['content'])
    .setVectorQuery(question, ['vector'])
    .setFields(['_id', 'file', 'text'])
    .setLimit(3)
    .execute();
  const contexts = hits.map((hit) => ({ file: String(hit.file), text: String(hit.text) }));
  const answer = await answerWithContext.withLlm(llm).run({ question: question, contexts });
  return { answer, sources: hits.map((hit) => String(hit._id)) };
}
