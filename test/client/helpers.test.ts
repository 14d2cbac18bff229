/** Pure helpers of the client: llm_config mapping, conversations, templates, extraction, multimodal. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  AudioPath,
  applyTemplate,
  contentToParts,
  extractCode,
  extractJson,
  Image,
  ImagePath,
  TagExtractor,
  Templates,
} from '../../src/client/index.js';
import { toChatMessages } from '../../src/client/conversation.js';
import { requestFieldsFromLlmConfig } from '../../src/client/llm-config.js';
import { InvalidArgumentError, NotFoundError } from '../../src/core/index.js';

describe('llm_config', () => {
  test('portable keys become request fields, gen.* and generation.* lose their prefix', () => {
    assert.deepEqual(
      requestFieldsFromLlmConfig({
        max_length: 100,
        'gen.temperature': '0.3',
        'generation.top_k': 5,
        'gen.stop': 'END',
        'gen.repetition_penalty': 1.1,
        'gen.response_prefix': true,
      }),
      { maxTokens: 100, temperature: 0.3, topK: 5, stop: ['END'], extra: { repetition_penalty: 1.1 } },
    );
  });
  test('a bad number names the key and the value', () => {
    assert.throws(() => requestFieldsFromLlmConfig({ temperature: 'hot' }), {
      name: 'InvalidArgumentError',
      message: 'llm_config temperature must be a number, got "hot"',
    });
  });
});

describe('conversations', () => {
  test('a string is one user message; prefix completion marks only the last assistant message', () => {
    assert.deepEqual(toChatMessages('hi'), [{ role: 'user', content: 'hi' }]);
    const messages = toChatMessages(
      [
        { role: 'assistant', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: 'c' },
      ],
      { responsePrefix: true },
    );
    assert.deepEqual(messages[0], { role: 'assistant', content: 'a' });
    assert.deepEqual(messages[2], { role: 'assistant', content: 'c', prefix: true });
  });
  test('an unknown role is refused with the allowed ones', () => {
    assert.throws(() => toChatMessages([{ role: 'bot', content: 'x' }]), InvalidArgumentError);
    assert.throws(() => toChatMessages([]), InvalidArgumentError);
  });
});

describe('templates', () => {
  const conversation = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hi' },
    { role: 'assistant' as const, content: 'Hello!' },
    { role: 'user' as const, content: 'Bye' },
  ];
  test('llama renders the messages (Byzer-LLM printed a literal {v})', () => {
    assert.equal(
      applyTemplate(Templates.llama(), conversation),
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n[/INST]</s>\n<s>[INST] Hi [/INST]\nHello! </s>\n<s>[INST] Bye [/INST]',
    );
  });
  test('default and empty', () => {
    assert.equal(
      applyTemplate(Templates.default(), conversation),
      'Be brief.\nUser:Hi\nAssistant:Hello!\nUser:Bye\nAssistant:',
    );
    assert.equal(applyTemplate(Templates.empty(), conversation), 'Be brief.\nHi\nHello!\nBye');
  });
  test('a last assistant message is continued, not followed by a new turn', () => {
    const prompt = applyTemplate(Templates.yi(), [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Once' },
    ]);
    assert.equal(prompt, '<|im_start|>user\nHi\n<|im_end|>\n<|im_start|>assistant\nOnce');
  });
  test('clean functions cut at stop markers', () => {
    assert.equal(Templates.qwen().cleanFunc('answer<|im_end|>junk<|endoftext|>'), 'answer');
    assert.equal(Templates.llama().cleanFunc('answer </s> more'), 'answer ');
    assert.equal(Templates.yi().cleanFunc('answer<|im_end|>'), 'answer<|im_end|>');
  });
});

describe('extraction', () => {
  test('extractCode returns fenced blocks with their language, or the whole text', () => {
    assert.deepEqual(extractCode('a\n```python\nprint(1)\n```\nb\n```\nplain\n```'), [
      { language: 'python', code: 'print(1)' },
      { language: '', code: 'plain' },
    ]);
    assert.deepEqual(extractCode('  just text '), [{ language: '', code: 'just text' }]);
  });
  test('TagExtractor finds <_tag_> sections; unclosed ones are ignored', () => {
    const extractor = new TagExtractor(
      'x <_image_>a.png</_image_> y <_audio_>b.mp3</_audio_> <_open_>no end',
    );
    assert.deepEqual(extractor.extract(), [
      { tag: 'image', content: 'a.png' },
      { tag: 'audio', content: 'b.mp3' },
    ]);
    assert.equal(extractor.first('audio'), 'b.mp3');
    assert.equal(extractor.first('open'), undefined);
  });
  test('extractJson: whole text, json fence, last fence, or the outer braces', () => {
    assert.deepEqual(extractJson('{"a":1}'), { value: { a: 1 } });
    assert.deepEqual(extractJson('see\n```json\n[1,2]\n```'), { value: [1, 2] });
    assert.deepEqual(extractJson('Result: {"b": true} done'), { value: { b: true } });
    assert.equal(extractJson('no json here'), undefined);
  });
  test('extractJson repairs what small models write, through jsonrepair, and never turns prose into JSON', () => {
    assert.deepEqual(extractJson("{'name': 'Ann', age: 3,}"), { value: { name: 'Ann', age: 3 } });
    assert.deepEqual(extractJson('```json\n{"items": [1, 2, 3,]} // done\n```'), {
      value: { items: [1, 2, 3] },
    });
    assert.deepEqual(extractJson('Answer: {"city": "Paris", "sunny": true'), {
      value: { city: 'Paris', sunny: true },
    });
    assert.equal(extractJson('just words, nothing else'), undefined);
  });
});

describe('multimodal', () => {
  test('ImagePath and AudioPath render as data URL tags; tags and JSON become content parts', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-mm-'));
    try {
      const imageFile = path.join(directory, 'a.png');
      const audioFile = path.join(directory, 'a.mp3');
      await fs.writeFile(imageFile, Buffer.from([1, 2, 3]));
      await fs.writeFile(audioFile, Buffer.from([4, 5]));
      assert.equal(String(new ImagePath(imageFile)), '<_image_>data:image/png;base64,AQID</_image_>');
      assert.equal(String(new AudioPath(audioFile)), '<_audio_>data:audio/mpeg;base64,BAU=</_audio_>');
      assert.deepEqual(contentToParts(`${new ImagePath(imageFile)}\nWhat is this?`), [
        { type: 'image', url: 'data:image/png;base64,AQID' },
        { type: 'text', text: 'What is this?' },
      ]);
      assert.deepEqual(contentToParts(JSON.stringify([{ image: imageFile, text: 'and this?' }])), [
        { type: 'image', url: 'data:image/png;base64,AQID' },
        { type: 'text', text: 'and this?' },
      ]);
      assert.equal(contentToParts('["just", "a list"]'), '["just", "a list"]');
      const saved = await Image.saveImageToPath(
        'data:image/png;base64,AQID',
        path.join(directory, 'out.jpg'),
        true,
      );
      assert.equal(saved, path.join(directory, 'out.png'));
      assert.deepEqual([...(await fs.readFile(saved))], [1, 2, 3]);
      assert.throws(() => Image.loadImageFromPath(path.join(directory, 'missing.png')), NotFoundError);
      assert.throws(() => Image.loadImageFromPath(path.join(directory, 'a.txt')), InvalidArgumentError);
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  });
});
