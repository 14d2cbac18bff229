/** The OpenAI audio/image models (tts-1, whisper-1, dall-e-3) and Byzer-LLM's JSON task messages through chat. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectStream } from '../../src/core/chat-model.js';
import { withTaskDispatch } from '../../src/engines/shared/task-dispatch.js';
import type { MultipartFields, UploadedFile } from '../support/openai-upstream-media.js';
import { API_KEY, ask, sentBody, withEngine } from './openai-engine-fixture.js';

describe('OpenAI speech, transcription and image models', () => {
  test('speech posts model/input/voice/response_format to /audio/speech and returns the bytes', async () => {
    await withEngine(
      async (engine, upstream) => {
        const result = await engine.speech?.doSpeech({
          input: 'hello',
          voice: 'nova',
          responseFormat: 'wav',
        });
        assert.equal(Buffer.from(result?.audio ?? []).toString(), 'FAKE-WAV:nova:hello');
        assert.equal(result?.mediaType, 'audio/wav');
        const request = upstream.requests.at(-1);
        assert.equal(request?.path, '/v1/audio/speech');
        assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
        assert.deepEqual(request?.body, {
          model: 'tts-1',
          input: 'hello',
          voice: 'nova',
          response_format: 'wav',
        });
      },
      { 'saas.model': 'tts-1' },
    );
  });

  test('transcription uploads multipart with verbose_json and word+segment timestamps', async () => {
    await withEngine(
      async (engine, upstream) => {
        const result = await engine.transcription?.doTranscribe({
          audio: Buffer.from('one two three'),
          mediaType: 'audio/wav',
          timestamps: true,
          language: 'en',
        });
        assert.equal(result?.text, 'one two three');
        assert.equal(result?.language, 'en');
        assert.equal(result?.durationSeconds, 1.5);
        assert.deepEqual(result?.words, [
          { word: 'one', start: 0, end: 0.5 },
          { word: 'two', start: 0.5, end: 1 },
          { word: 'three', start: 1, end: 1.5 },
        ]);
        assert.deepEqual(result?.segments, [{ start: 0, end: 1.5, text: 'one two three' }]);
        const fields = sentBody(upstream) as MultipartFields;
        assert.equal(upstream.requests.at(-1)?.path, '/v1/audio/transcriptions');
        assert.equal(fields.model, 'whisper-1');
        assert.equal(fields.response_format, 'verbose_json');
        assert.deepEqual(fields['timestamp_granularities[]'], ['word', 'segment']);
        assert.equal((fields.file as UploadedFile).type, 'audio/wav');
        assert.equal((fields.file as UploadedFile).filename, 'audio.wav');
      },
      { 'saas.model': 'whisper-1' },
    );
  });

  test('image generation asks for b64_json and returns the images', async () => {
    await withEngine(
      async (engine, upstream) => {
        const result = await engine.image?.doGenerateImage({ prompt: 'a cat', size: '512x512', n: 2 });
        assert.equal(result?.images.length, 2);
        assert.equal(
          Buffer.from(result?.images[0]?.base64 ?? '', 'base64').toString(),
          'FAKE-PNG:512x512:a cat',
        );
        assert.equal(result?.images[0]?.revisedPrompt, 'revised: a cat');
        assert.deepEqual(sentBody(upstream), {
          model: 'dall-e-3',
          prompt: 'a cat',
          size: '512x512',
          n: 2,
          response_format: 'b64_json',
        });
      },
      { 'saas.model': 'dall-e-3' },
    );
  });

  test('an upstream 400 on a media endpoint surfaces its message at once', async () => {
    await withEngine(
      async (engine) => {
        await assert.rejects(
          engine.speech?.doSpeech({ input: 'x', voice: 'alloy', responseFormat: 'ogg' }) ?? Promise.resolve(),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, 'upstream_bad_request');
            assert.match(error.message, /response_format/);
            return true;
          },
        );
      },
      { 'saas.model': 'tts-1' },
    );
  });
});

describe('JSON task messages through chat (seed convention)', () => {
  test('{"input","voice"} runs speech and answers base64 audio; streaming gives the same text', async () => {
    await withEngine(
      async (engine, upstream) => {
        const dispatching = withTaskDispatch(engine);
        const message = JSON.stringify({ input: 'hi there', voice: 'alloy' });
        const result = await dispatching.chat?.doGenerate(ask(message));
        assert.equal(Buffer.from(result?.text ?? '', 'base64').toString(), 'FAKE-MP3:alloy:hi there');
        assert.equal(upstream.requests.at(-1)?.path, '/v1/audio/speech');
        const chat = dispatching.chat;
        assert.ok(chat);
        const streamed = await collectStream(await chat.doStream(ask(message)));
        assert.equal(streamed.text, result?.text);
      },
      { 'saas.model': 'tts-1' },
    );
  });

  test('streaming speech yields the audio as audio-delta parts in 32000-byte pieces', async () => {
    await withEngine(
      async (engine) => {
        const chat = withTaskDispatch(engine).chat;
        assert.ok(chat);
        const input = 'x'.repeat(40_000);
        const parts = [];
        for await (const part of await chat.doStream(ask(JSON.stringify({ input, voice: 'echo' }))))
          parts.push(part);
        assert.deepEqual(
          parts.map((part) => part.type),
          ['response-metadata', 'audio-delta', 'audio-delta', 'finish'],
        );
        const audio = Buffer.concat(
          parts.flatMap((part) => (part.type === 'audio-delta' ? [part.data] : [])),
        );
        assert.equal(audio.toString(), `FAKE-MP3:echo:${input}`);
        const first = parts[1];
        assert.equal(first?.type === 'audio-delta' ? first.data.length : 0, 32_000);
      },
      { 'saas.model': 'tts-1' },
    );
  });

  test('a dall-e-3 deployment reads {"input"} as an image task; a whisper-1 deployment reads {"audio"} as a transcription', async () => {
    await withEngine(
      async (engine) => {
        const image = await withTaskDispatch(engine).chat?.doGenerate(
          ask('[{"input":"a dog","size":"256x256"}]'),
        );
        assert.equal(Buffer.from(image?.text ?? '', 'base64').toString(), 'FAKE-PNG:256x256:a dog');
      },
      { 'saas.model': 'dall-e-3' },
    );
    await withEngine(
      async (engine, upstream) => {
        const audio = `data:audio/mpeg;base64,${Buffer.from('hello world').toString('base64')}`;
        const transcript = await withTaskDispatch(engine).chat?.doGenerate(ask(JSON.stringify({ audio })));
        const parsed = JSON.parse(transcript?.text ?? '{}') as { text: string; words: unknown[] };
        assert.equal(parsed.text, 'hello world');
        assert.equal(parsed.words.length, 2);
        assert.equal(((sentBody(upstream) as MultipartFields).file as UploadedFile).type, 'audio/mpeg');
      },
      { 'saas.model': 'whisper-1' },
    );
  });

  test('on a chat deployment only an explicit task field runs a task', async () => {
    await withEngine(async (engine) => {
      const dispatching = withTaskDispatch(engine);
      const request = ask('{"input":"a dog","size":"256x256"}');
      const chat = await dispatching.chat?.doGenerate(request);
      assert.equal(chat?.text, 'echo: {"input":"a dog","size":"256x256"}');
      const image = await dispatching.chat?.doGenerate({ ...request, task: 'image' });
      assert.equal(Buffer.from(image?.text ?? '', 'base64').toString(), 'FAKE-PNG:256x256:a dog');
    });
  });

  test('ordinary text and JSON without task keys stay chat', async () => {
    await withEngine(async (engine, upstream) => {
      const dispatching = withTaskDispatch(engine);
      const result = await dispatching.chat?.doGenerate(ask('{"question":"why"}'));
      assert.equal(result?.text, 'echo: {"question":"why"}');
      assert.equal(upstream.requests.at(-1)?.path, '/v1/chat/completions');
      // Chat text that has an "input" key is still chat on a chat deployment.
      const json = await dispatching.chat?.doGenerate(ask('{"input":"summarise me","lang":"en"}'));
      assert.equal(json?.text, 'echo: {"input":"summarise me","lang":"en"}');
      assert.equal(upstream.requests.at(-1)?.path, '/v1/chat/completions');
    });
  });
});
