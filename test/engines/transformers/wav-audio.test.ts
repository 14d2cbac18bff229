/** WAV decoding for custom/whisper: formats, channel mixing, resampling, and clear refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import wavefile from 'wavefile';
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

/** WAV bytes written by wavefile itself, as another recorder would write them. */
function written(channels: number, rate: number, bitDepth: string, samples: number[] | number[][]) {
  const file = new wavefile.WaveFile();
  file.fromScratch(channels, rate, bitDepth, samples);
  return file;
}

test('8-bit and 24-bit PCM decode to the same floats as 16-bit', () => {
  const eight = decodeWav(written(1, 16_000, '8', [0, 255, 128]).toBuffer()).samples;
  assert.ok(Math.abs(eight[0]! + 1) < 1e-2 && Math.abs(eight[1]! - 1) < 1e-2 && eight[2] === 0);
  const full = 8_388_607;
  const twentyFour = decodeWav(
    written(2, 16_000, '24', [
      [full, 0],
      [-full - 1, 0],
    ]).toBuffer(),
  ).samples;
  assert.ok(twentyFour.length === 2 && twentyFour.every((sample) => Math.abs(sample) < 1e-6));
  const left = decodeWav(
    written(2, 16_000, '24', [
      [full / 2, full],
      [full / 2, -full - 1],
    ]).toBuffer(),
  ).samples;
  assert.ok(Math.abs(left[0]! - 0.5) < 1e-4 && Math.abs(left[1]!) < 1e-4);
});

test('A-law and µ-law telephone audio decodes close to the original 16-bit samples', () => {
  const original = [0, 8_000, -8_000, 16_000];
  for (const encode of ['toALaw', 'toMuLaw'] as const) {
    const file = written(1, 8_000, '16', original);
    file[encode]();
    const decoded = wavToWhisperInput(file.toBuffer());
    assert.equal(decoded.length, 8, encode);
    for (const [index, sample] of original.entries()) {
      assert.ok(Math.abs(decoded[index * 2]! - sample / 32_768) < 0.02, `${encode} sample ${index}`);
    }
  }
});

test('WAVE_FORMAT_EXTENSIBLE float stereo is read as float, not as integers', () => {
  const frames = [
    [0.5, -0.5],
    [0.25, 0.75],
  ];
  const bytes = Buffer.alloc(68 + frames.length * 8);
  bytes.write('RIFF', 0);
  bytes.writeUInt32LE(bytes.length - 8, 4);
  bytes.write('WAVEfmt ', 8);
  bytes.writeUInt32LE(40, 16);
  bytes.writeUInt16LE(0xfffe, 20);
  bytes.writeUInt16LE(2, 22);
  bytes.writeUInt32LE(48_000, 24);
  bytes.writeUInt32LE(48_000 * 8, 28);
  bytes.writeUInt16LE(8, 32);
  bytes.writeUInt16LE(32, 34);
  bytes.writeUInt16LE(22, 36);
  bytes.writeUInt16LE(32, 38);
  bytes.writeUInt32LE(3, 40);
  // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT: 00000003-0000-0010-8000-00aa00389b71
  Buffer.from('0300000000001000800000aa00389b71', 'hex').copy(bytes, 44);
  bytes.write('data', 60);
  bytes.writeUInt32LE(frames.length * 8, 64);
  for (const [index, sample] of frames.flat().entries()) bytes.writeFloatLE(sample, 68 + index * 4);
  const decoded = decodeWav(new Uint8Array(bytes));
  assert.equal(decoded.sampleRate, 48_000);
  assert.deepEqual(Array.from(decoded.samples), [0, 0.5]);
});
