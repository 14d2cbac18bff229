/**
 * custom/whisper on the project's tiny Whisper-style ONNX model: the real transformers.js Whisper
 * path (log-mel features, encoder, cached decoder, Whisper tokenizer) from WAV bytes to text.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deploymentSpecSchema } from '../../../src/core/deployment.js';
import { ByzerLLMError } from '../../../src/core/errors.js';
import type { EngineInstance } from '../../../src/core/models.js';
import { writeTinyWhisperModel } from '../../support/tiny-onnx/write-tiny-whisper.js';
import { createTransformersEngine } from '../../../src/engines/transformers/transformers-provider.js';
import { orderedSegments } from '../../../src/engines/transformers/transformers-transcription-model.js';
import { toneWav } from '../../support/wav.js';

function assertOrderedWithin(segments: { start: number; end: number }[], seconds: number): void {
  let previousEnd = 0;
  for (const segment of segments) {
    assert.ok(segment.start >= previousEnd, `start ${segment.start} before the previous end ${previousEnd}`);
    assert.ok(segment.end >= segment.start, `end ${segment.end} before its start ${segment.start}`);
    assert.ok(segment.end <= seconds, `end ${segment.end} after the audio's ${seconds} s`);
    previousEnd = segment.end;
  }
}

describe('custom/whisper with the tiny Whisper model', () => {
  let root: string;
  let whisper: EngineInstance;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-whisper-'));
    await writeTinyWhisperModel(path.join(root, 'tiny-whisper'));
    whisper = await createTransformersEngine({
      spec: deploymentSpecSchema.parse({
        name: 'asr',
        pretrainedModelType: 'custom/whisper',
        inferBackend: 'transformers',
        modelPath: path.join(root, 'tiny-whisper'),
      }),
      workerIndex: 0,
      gpuIndices: [],
      warn: () => {},
    });
  });
  after(async () => {
    await whisper?.dispose();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('meta describes a local speech-to-text model', () => {
    assert.equal(whisper.meta.backend, 'transformers');
    assert.deepEqual(whisper.meta.tasks, ['transcription']);
    assert.deepEqual(whisper.meta.architectures, ['WhisperForConditionalGeneration']);
    assert.equal(whisper.meta.max_model_len, 448);
    assert.equal(whisper.meta.embedding_mode, false);
    assert.equal(whisper.transcription?.modelId, 'tiny-whisper');
  });

  test('WAV in, text out: the same audio gives the same text, other audio other text', async () => {
    const low = await whisper.transcription!.doTranscribe({ audio: toneWav(440, 1), mediaType: 'audio/wav' });
    const high = await whisper.transcription!.doTranscribe({
      audio: toneWav(2000, 1),
      mediaType: 'audio/wav',
    });
    const lowAgain = await whisper.transcription!.doTranscribe({
      audio: toneWav(440, 1),
      mediaType: 'audio/x-wav',
      language: 'en',
    });
    assert.match(low.text, /^[a-z][a-z ]*$/);
    assert.equal(low.durationSeconds, 1);
    assert.equal(lowAgain.text, low.text);
    assert.equal(lowAgain.language, 'en');
    assert.notEqual(high.text, low.text);
  });

  test('audio at another rate is resampled to 16 kHz first', async () => {
    const result = await whisper.transcription!.doTranscribe({
      audio: toneWav(440, 0.5, 8_000),
      mediaType: 'audio/wav',
    });
    assert.equal(result.durationSeconds, 0.5);
    assert.match(result.text, /^[a-z][a-z ]*$/);
  });

  test('timestamps come back as segments whose text is the transcript', async () => {
    const audio = toneWav(440, 2);
    const plain = await whisper.transcription!.doTranscribe({ audio, mediaType: 'audio/wav' });
    const timed = await whisper.transcription!.doTranscribe({
      audio,
      mediaType: 'audio/wav',
      timestamps: true,
    });
    assert.equal(plain.segments, undefined);
    assert.ok(timed.segments && timed.segments.length > 0);
    assert.equal(timed.segments.map((segment) => segment.text).join(' '), timed.text);
    assertOrderedWithin(timed.segments, 2);
  });

  test('segment times are ordered and inside the audio, for chunked (> 30 s) audio too', async () => {
    // The tiny model predicts a start token of 26.92 s for 2 s of audio, and no start when chunked.
    const long = await whisper.transcription!.doTranscribe({
      audio: toneWav(440, 40),
      mediaType: 'audio/wav',
      timestamps: true,
    });
    assert.ok(long.segments && long.segments.length > 0);
    assertOrderedWithin(long.segments, 40);
  });

  test('orderedSegments: impossible starts become the previous end, ends are clamped to the audio', () => {
    assert.deepEqual(
      orderedSegments(
        [
          { timestamp: [26.92, 1], text: ' a' },
          { timestamp: [0.5, 0.8], text: 'b ' },
          { timestamp: [1.5, null], text: 'c' },
          { timestamp: [null, 9], text: 'd' },
        ],
        2,
      ),
      [
        { start: 0, end: 1, text: 'a' },
        { start: 1, end: 1, text: 'b' },
        { start: 1.5, end: 2, text: 'c' },
        { start: 2, end: 2, text: 'd' },
      ],
    );
  });

  test('audio that is not WAV is refused naming the accepted types', async () => {
    await assert.rejects(
      whisper.transcription!.doTranscribe({
        audio: new Uint8Array([0xff, 0xfb, 0x90]),
        mediaType: 'audio/mpeg',
      }),
      (error: unknown) =>
        error instanceof ByzerLLMError &&
        error.code === 'unsupported' &&
        error.message.includes('"audio/mpeg"') &&
        error.message.includes('audio/wav'),
    );
  });
});

describe('custom/whisper word timestamps (alignment heads and cross-attention outputs)', () => {
  let root: string;
  const load = async (name: string, options: Parameters<typeof writeTinyWhisperModel>[1]) => {
    await writeTinyWhisperModel(path.join(root, name), options);
    return createTransformersEngine({
      spec: deploymentSpecSchema.parse({
        name: 'asr',
        pretrainedModelType: 'custom/whisper',
        inferBackend: 'transformers',
        modelPath: path.join(root, name),
      }),
      workerIndex: 0,
      gpuIndices: [],
      warn: () => {},
    });
  };

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-whisper-words-'));
  });
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('words come back ordered, inside the audio, and spelling the transcript', async () => {
    // spaceScore 3: the tiny model "speaks" several short words; its raw word times include a start
    // past the audio's end and an end before its start, which must not come through.
    const whisper = await load('words', { spaceScore: 3 });
    try {
      const audio = toneWav(440, 2);
      const words = await whisper.transcription!.doTranscribe({
        audio,
        mediaType: 'audio/wav',
        timestamps: true,
        timestampGranularities: ['word'],
      });
      assert.ok(words.words && words.words.length > 2, JSON.stringify(words));
      assert.equal(words.segments, undefined, 'only words were asked for');
      assert.equal(words.words.map((word) => word.word).join(' '), words.text);
      assertOrderedWithin(words.words, 2);
      const both = await whisper.transcription!.doTranscribe({
        audio,
        mediaType: 'audio/wav',
        timestamps: true,
        timestampGranularities: ['word', 'segment'],
      });
      assert.deepEqual(both.words, words.words);
      assert.ok(both.segments && both.segments.length > 0);
      assert.equal(both.text, words.text);
    } finally {
      await whisper.dispose();
    }
  });

  test('an export without alignment heads refuses words, naming what is missing', async () => {
    const whisper = await load('no-heads', { alignmentHeads: false });
    try {
      await assert.rejects(
        whisper.transcription!.doTranscribe({
          audio: toneWav(440, 1),
          mediaType: 'audio/wav',
          timestamps: true,
          timestampGranularities: ['word'],
        }),
        (error: Error & { code?: string }) =>
          error.code === 'unsupported' &&
          /generation_config\.json has no alignment_heads/.test(error.message),
      );
      const segments = await whisper.transcription!.doTranscribe({
        audio: toneWav(440, 1),
        mediaType: 'audio/wav',
        timestamps: true,
      });
      assert.ok(segments.segments && segments.segments.length > 0);
    } finally {
      await whisper.dispose();
    }
  });
});
