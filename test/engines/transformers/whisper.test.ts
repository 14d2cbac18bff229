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
import { toneWav } from '../../support/wav.js';

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
    for (const segment of timed.segments) assert.equal(typeof segment.start, 'number');
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
