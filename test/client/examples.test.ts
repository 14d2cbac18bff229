/**
 * Every client example in examples/ runs against a real deployment (the scripted OpenAI stand-in
 * behind an in-process head) and gives the result its seed describes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as chatTemplate from '../../examples/chat-template.js';
import * as customExtractor from '../../examples/custom-extractor.js';
import * as deployExample from '../../examples/deploy.js';
import * as embeddings from '../../examples/embeddings.js';
import * as functionCalling from '../../examples/function-calling.js';
import * as functionImpl from '../../examples/function-impl.js';
import * as helloWorld from '../../examples/hello-world.js';
import * as instanceMethod from '../../examples/instance-method.js';
import * as longOutput from '../../examples/long-output.js';
import * as multimodal from '../../examples/multimodal.js';
import * as objectOutput from '../../examples/object-output.js';
import * as promptClass from '../../examples/prompt-class.js';
import * as promptStream from '../../examples/prompt-stream.js';
import * as simpleByzerLLM from '../../examples/simple-byzer-llm.js';
import * as streamChat from '../../examples/stream-chat.js';
import { ByzerLLM } from '../../src/client/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

/** A 1x1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function lastUserText(fixture: ClientFixture): string {
  return (lastChatBody(fixture.upstream).messages as { content: string }[]).at(-1)!.content;
}

describe('examples', () => {
  let fixture: ClientFixture;
  before(async () => {
    fixture = await startClientFixture();
  });
  after(() => fixture.close());

  test('hello world: a prompt function renders, runs, and switches llm', async () => {
    const result = await helloWorld.main(fixture.llm);
    assert.equal(result.rendered, '你好, 你是谁');
    assert.equal(result.answer, 'echo: 你好, 你是谁');
    assert.equal(result.fromOtherModel, 'echo: 你好, 你是谁');
  });

  test('long output: markers continue until the end marker, max_length reaches the engine', async () => {
    fixture.upstream.reset();
    const story = await longOutput.main(fixture.llm);
    assert.equal(story, 'Once upon a time, a fox found a shining gem.');
    const bodies = fixture.upstream.requests.map((request) => request.body as Record<string, unknown>);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0]!.max_tokens, 10);
    // The second turn carries the first answer and the continue prompt.
    const messages = bodies[1]!.messages as { role: string; content: string }[];
    assert.deepEqual(
      messages.slice(1).map((message) => message.role),
      ['assistant', 'user'],
    );
  });

  test('object output: typed values from prompt functions and chatOai', async () => {
    const result = await objectOutput.main(fixture.llm);
    const sample = { title: 'sample title', body: 'sample body' };
    assert.deepEqual(result.fromPromptFunction, sample);
    assert.deepEqual(result.fromTemplateJson, sample);
    assert.deepEqual(result.direct, sample);
    assert.deepEqual(result.afterChat, sample);
  });

  test('custom extractor: the text between <REGEX> tags', async () => {
    const pattern = await customExtractor.main(fixture.llm);
    assert.equal(pattern, '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$');
    assert.ok(new RegExp(pattern).test('jane@example.com'));
  });

  test('instance methods: llm from this, loops in the template, variables from the body', async () => {
    const result = await instanceMethod.main(fixture.llm);
    assert.match(result.viaThis, /Hello Jane Doe,/);
    assert.match(result.viaThis, /- Task: Finish project \| Due: 2024-03-15/);
    assert.match(
      result.rendered,
      /pending tasks:\n\n- Task: Submit report \| Due: 2024-03-10\n- Task: Finish project/,
    );
    assert.equal(result.viaWithLlm, `echo: ${result.rendered}`);
  });

  test('function impl: generated, sandboxed, validated and cached', async () => {
    fixture.upstream.reset();
    const result = await functionImpl.main(fixture.llm);
    assert.deepEqual(result.first.value, { time: '2024-06-14' });
    assert.equal(result.first.meta.cached, false);
    assert.deepEqual(result.second.value, { time: '2024-06-14' });
    assert.equal(result.second.meta.cached, true);
    assert.deepEqual(result.tomorrow.value, { time: '2024-01-29' });
    assert.deepEqual(result.range.value, { start: '2023-03-01', end: '2023-07-31' });
    assert.deepEqual(result.viaChat, { start: '2023-03-01', end: '2023-07-31' });
    // Four generations (the chatOai one accepts any parameters: another signature); the cached second call made none.
    assert.equal(fixture.upstream.requests.length, 4);
  });

  test('stream chat: delta pieces join into the non-stream answer; meta has the seed fields', async () => {
    const result = await streamChat.main(fixture.llm);
    assert.equal(result.streamed, result.output);
    assert.equal(result.output, 'echo: 你好，你是谁');
    assert.ok(result.meta.request_id.startsWith('chatcmpl-test-'));
    assert.equal(result.meta.input_tokens_count, 1);
    assert.equal(result.meta.generated_tokens_count, 2);
    assert.equal(result.meta.finish_reason, 'stop');
    assert.ok(result.meta.time_cost > 0);
  });

  test('stream chat: both calls go to the default model (run-example --model), not a fixed name', async () => {
    await fixture.llm.deploy({
      udfName: 'stream_other',
      pretrainedModelType: 'saas/openai',
      inferParams: { ...fixture.inferParams, 'saas.model': 'stream-other-model' },
    });
    const other = ByzerLLM.fromDefaultModel('stream_other', { cluster: fixture.head });
    fixture.upstream.reset();
    try {
      const result = await streamChat.main(other);
      assert.equal(result.output, 'echo: 你好，你是谁');
      const models = fixture.upstream.requests.map((request) => (request.body as { model: string }).model);
      assert.deepEqual(models, ['stream-other-model', 'stream-other-model']);
    } finally {
      await other.close();
      await fixture.llm.undeploy('stream_other');
    }
  });

  for (const toolMode of ['auto', 'prompt'] as const) {
    test(`function calling (${toolMode === 'auto' ? 'native tools' : 'prompt protocol'}): the right tool runs`, async () => {
      const result = await functionCalling.main(fixture.llm, toolMode);
      assert.equal(result.now?.length, 1);
      assert.match(String(result.now![0]), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const [start, end] = result.threeMonths![0] as string[];
      assert.ok(start! < end!, `${start} is before ${end}`);
      const [dayStart, dayEnd] = result.threeDays![0] as string[];
      assert.ok(dayStart! > start! && dayStart! < dayEnd!);
      assert.match(
        String(result.declined),
        toolMode === 'auto' ? /^echo: 你吃饭了么？/ : /none of these functions/,
      );
    });
  }

  test('custom prompt formats per model (function calling, structured output, impl)', async () => {
    const other = new ByzerLLM({ cluster: fixture.head });
    fixture.upstream.reset();
    const called = await functionCalling.withCustomFormat(other, 'chat');
    assert.equal((called.values![0] as string[]).length, 2);
    assert.match(
      lastUserText(fixture),
      /^You can call the following functions:\n- compute_date_range: 计算日期范围/,
    );
    const story = await objectOutput.withCustomFormat(other, 'chat');
    assert.deepEqual(story.value, { title: 'sample title', body: 'sample body' });
    assert.match(lastUserText(fixture), /^讲个故事\n\nReply with JSON following this JSON Schema:/);
    const range = await functionImpl.withCustomFormat(other, 'chat');
    assert.deepEqual(range.value, { start: '2023-03-01', end: '2023-07-31' });
    assert.match(lastUserText(fixture), /The user's question: 去年三月到七月/);
  });

  test("multimodal: TTS, speech-to-text and image generation through chatOai (the seeds' JSON content)", async () => {
    const audioDataUrl = `data:audio/wav;base64,${Buffer.from('spoken words here').toString('base64')}`;
    // Deployments made for each task, as the example says (a chat deployment answers JSON as chat).
    const byModel = async (udfName: string, model: string) => {
      const llm = new ByzerLLM({ cluster: fixture.head });
      await llm.deploy({
        udfName,
        pretrainedModelType: 'saas/openai',
        inferParams: { ...fixture.inferParams, 'saas.model': model },
      });
      llm.setupDefaultModelName(udfName);
      return llm;
    };
    const result = await multimodal.audioAndImages(
      {
        tts: await byModel('open_tts', 'tts-1'),
        stt: await byModel('open_stt', 'whisper-1'),
        imageGen: await byModel('open_image', 'dall-e-3'),
      },
      audioDataUrl,
    );
    assert.equal(Buffer.from(result.speechBase64, 'base64').toString(), 'FAKE-MP3:alloy:hello, open_tts');
    assert.equal((JSON.parse(result.transcript) as { text: string }).text, 'spoken words here');
    assert.equal(
      Buffer.from(result.imageBase64, 'base64').toString(),
      'FAKE-PNG:1024x1024:a white siamese cat',
    );
  });

  test('multimodal: images reach the model as image parts', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-image-'));
    const imagePath = path.join(directory, 'cat1.png');
    await fs.writeFile(imagePath, PNG);
    try {
      fixture.upstream.reset();
      const result = await multimodal.main(fixture.llm, imagePath);
      assert.equal(result.withImagePath, 'echo: 这个图片里有什么？');
      assert.equal(result.withBody, 'echo: 这个图片里有什么？');
      assert.equal(result.seedJson, 'echo: 这个图片里有什么？');
      assert.equal(result.openAIJson, 'echo: 这个图片里有什么？');
      assert.equal(result.viaLlmConfig, 'echo: 这是什么');
      const viaConfig = (
        lastChatBody(fixture.upstream).messages as { content: { image_url?: { url: string } }[] }[]
      )[0]!;
      assert.equal(viaConfig.content[0]!.image_url!.url, `data:image/jpeg;base64,${PNG.toString('base64')}`);
      assert.equal('image' in lastChatBody(fixture.upstream), false);
      const dataUrl = `data:image/png;base64,${PNG.toString('base64')}`;
      for (const request of fixture.upstream.requests.slice(0, 4)) {
        const messages = (request.body as { messages: { content: unknown }[] }).messages;
        const parts = messages.at(-1)!.content as { type: string; image_url?: { url: string } }[];
        assert.equal(parts[0]!.type, 'image_url');
        assert.equal(parts[0]!.image_url!.url, dataUrl);
        assert.equal(parts.at(-1)!.type, 'text');
      }
      const openAIBody = fixture.upstream.requests[3]!.body as {
        messages: { content: { image_url?: { detail?: string } }[] }[];
      };
      assert.equal(openAIBody.messages[0]!.content[0]!.image_url!.detail, 'high');
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  });

  test('prompt class: simple rendering, a class method, a prompt-only method, a typed result', async () => {
    const result = await promptClass.main(fixture.llm);
    assert.match(
      result.renderedOnly as unknown as string,
      /^Answer the question based on only the following context:\n\nByzer产品栈/,
    );
    assert.match(result.renderedOnly as unknown as string, /Question: Byzer SQL是什么？\nAnswer:$/);
    assert.equal(result.answer, `echo: ${result.renderedOnly}`);
    assert.equal(result.fromClass as unknown as string, result.answer);
    assert.deepEqual(result.typed, {
      byzer_retrieval: 'sample byzer_retrieval',
      byzer_llm: 'sample byzer_llm',
      byzer_sql: 'sample byzer_sql',
    });
  });

  test('prompt stream: cumulative stream and prompt-function deltas give the whole answer', async () => {
    const result = await promptStream.main(fixture.llm);
    assert.equal(result.cumulative, 'echo: 讲一个100字的故事');
    assert.equal(result.fromPromptFunction, 'echo: 给我讲一个一百多字的故事');
  });

  test('embeddings: embQuery and emb through the default embedding model', async () => {
    const result = await embeddings.main(fixture.llm, 'chat');
    assert.equal(result.vector.length, 8);
    assert.equal(result.many.length, 2);
    assert.deepEqual(result.many[0], result.vector);
    assert.notDeepEqual(result.many[1], result.vector);
  });

  test('chat template: qwen cleaning and generation defaults, prefix completion with gen.stop', async () => {
    fixture.upstream.reset();
    const result = await chatTemplate.main(fixture.llm);
    assert.equal(result.meta.message_format, true);
    assert.equal(
      result.qwenPrompt,
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello\n<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(result.templated, 'echo: Hello');
    const templatedBody = fixture.upstream.requests[0]!.body as Record<string, unknown>;
    assert.equal(templatedBody.repetition_penalty, 1.1);
    assert.deepEqual(templatedBody.stop_token_ids, [151643, 151645]);
    assert.equal(templatedBody.presence_penalty, 0.5);
    const prefixBody = lastChatBody(fixture.upstream);
    assert.deepEqual((prefixBody.messages as unknown[]).at(-1), {
      role: 'assistant',
      content: 'Autumn moon',
      prefix: true,
    });
    assert.deepEqual(prefixBody.stop, ['\n\n']);
    assert.equal('response_prefix' in prefixBody, false);
  });

  test('SimpleByzerLLM: deploy, call and undeploy with no head', async () => {
    const result = await simpleByzerLLM.main(fixture.upstream.url, fixture.upstream.apiKey);
    assert.deepEqual(result, { answer: 'echo: 你好, 你是谁', exists: true, existsAfterUndeploy: false });
  });

  test('deploy: setters shape the deployment; meta, existence and undeploy', async () => {
    const result = await deployExample.main(fixture.llm, fixture.inferParams);
    assert.equal(result.exists, true);
    assert.equal(result.meta.model_name, 'scripted-model');
    assert.equal(result.existsAfter, false);
  });
});
