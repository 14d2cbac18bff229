/** WAV decoding for custom/whisper: formats, channel mixing, resampling, and clear refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByzerLLMError } from '../../../src/core/errors.js';
import { decodeWav, resample, wavToWhisperInput } from '../../../src/engines/transformers/wav-audio.js';

/** A canonical 44-byte-header WAV; `format` 1 = PCM, 3 = float. */
function wav(options: { rate: number; channels: number; bits: number; format: number; frames: number[][] }) {
  const width = options.bits / 8;
  const dataSize = options.frames.length * options.channels * width;
  const bytes = Buffer.alloc(44 + dataSize);
  bytes.write('RIFF', 0);
  bytes.writeUInt32LE(36 + dataSize, 4);
  bytes.write('WAVE', 8);
  bytes.write('fmt ', 12);
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(options.format, 20);
  bytes.writeUInt16LE(options.channels, 22);
  bytes.writeUInt32LE(options.rate, 24);
  bytes.writeUInt32LE(options.rate * options.channels * width, 28);
  bytes.writeUInt16LE(options.channels * width, 32);
  bytes.writeUInt16LE(options.bits, 34);
  bytes.write('data', 36);
  bytes.writeUInt32LE(dataSize, 40);
  let offset = 44;
  for (const frame of options.frames) {
    for (const sample of frame) {
      if (options.format === 3) bytes.writeFloatLE(sample, offset);
      else bytes.writeInt16LE(Math.round(sample * 32_767), offset);
      offset += width;
    }
  }
  return new Uint8Array(bytes);
}

test('16-bit stereo PCM is averaged to mono', () => {
  const decoded = decodeWav(
    wav({
      rate: 16_000,
      channels: 2,
      bits: 16,
      format: 1,
      frames: [
        [0.5, 0.25],
        [-1, -1],
      ],
    }),
  );
  assert.equal(decoded.sampleRate, 16_000);
  assert.equal(decoded.samples.length, 2);
  assert.ok(Math.abs(decoded.samples[0]! - 0.375) < 1e-3);
  assert.ok(Math.abs(decoded.samples[1]! + 1) < 1e-3);
});

test('float WAV at 8 kHz becomes 16 kHz with interpolated samples', () => {
  const frames = [[0], [1], [0], [-1]];
  const samples = wavToWhisperInput(wav({ rate: 8_000, channels: 1, bits: 32, format: 3, frames }));
  assert.equal(samples.length, 8);
  assert.deepEqual(Array.from(samples.slice(0, 4)), [0, 0.5, 1, 0.5]);
});

test('resampling to the same rate returns the samples unchanged', () => {
  const samples = Float32Array.from([0.1, 0.2]);
  assert.equal(resample(samples, 16_000, 16_000), samples);
});

test('non-WAV bytes and unsupported encodings are refused with what is allowed', () => {
  assert.throws(
    () => decodeWav(new TextEncoder().encode('ID3 this is an mp3 file')),
    (error: unknown) =>
      error instanceof ByzerLLMError && error.code === 'invalid_argument' && /RIFF\/WAVE/.test(error.message),
  );
  const alaw = wav({ rate: 8_000, channels: 1, bits: 16, format: 6, frames: [[0]] });
  assert.throws(
    () => decodeWav(alaw),
    (error: unknown) =>
      error instanceof ByzerLLMError &&
      error.code === 'unsupported' &&
      /PCM 8\/16\/24\/32-bit/.test(error.message),
  );
});
