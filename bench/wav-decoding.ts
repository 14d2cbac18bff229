/**
 * WAV decoding for custom/whisper: `decodeWav` (wavefile reading the container and samples) against a
 * raw baseline (a DataView loop over a canonical 16-bit PCM file, what the hand-written decoder did),
 * and our linear resampler against wavefile's `toSampleRate({ method: 'linear' })`. CPU time per
 * 30-second clip from `process.cpuUsage`, rounds interleaved so load from other work falls on both.
 *
 *   npx tsc -p . && node dist/bench/wav-decoding.js [rounds, default 20]
 */
import wavefile from 'wavefile';
import { decodeWav, resample } from '../src/engines/transformers/wav-audio.js';
import { cpuMicroseconds, median } from './process-cpu.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const SECONDS = 30;

function clip(rate: number, channels: number): Uint8Array {
  const frames = rate * SECONDS;
  const file = new wavefile.WaveFile();
  const samples = new Int16Array(frames * channels);
  for (let index = 0; index < samples.length; index++)
    samples[index] = Math.round(16_000 * Math.sin(index / 7));
  file.fromScratch(channels, rate, '16', samples);
  return file.toBuffer();
}

/** The baseline: channels averaged straight from the bytes of a 44-byte-header 16-bit file. */
function rawDecode(bytes: Uint8Array, channels: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = Math.floor((bytes.byteLength - 44) / (2 * channels));
  const samples = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++)
      sum += view.getInt16(44 + (frame * channels + channel) * 2, true);
    samples[frame] = sum / channels / 32_768;
  }
  return samples;
}

function wavefileResample(bytes: Uint8Array): number {
  const file = new wavefile.WaveFile(bytes);
  file.toBitDepth('32f');
  file.toSampleRate(16_000, { method: 'linear', LPF: false });
  return (file.getSamples(false, Float32Array) as unknown as Float32Array[]).length;
}

for (const [rate, channels] of [
  [16_000, 1],
  [48_000, 2],
] as const) {
  const bytes = clip(rate, channels);
  const timings = {
    raw: [] as number[],
    wavefile: [] as number[],
    ours: [] as number[],
    theirs: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    timings.raw.push(cpuMicroseconds(() => rawDecode(bytes, channels)));
    let decoded: Float32Array<ArrayBufferLike> = new Float32Array();
    timings.wavefile.push(cpuMicroseconds(() => (decoded = decodeWav(bytes).samples)));
    timings.ours.push(cpuMicroseconds(() => resample(decoded, rate, 16_000)));
    if (rate !== 16_000 && round < 3) timings.theirs.push(cpuMicroseconds(() => wavefileResample(bytes)));
  }
  const ms = (values: number[]) => (median(values) / 1000).toFixed(1);
  console.log(
    `${SECONDS} s ${rate} Hz ${channels} ch: raw decode ${ms(timings.raw)} ms, decodeWav (wavefile) ${ms(timings.wavefile)} ms` +
      ` (${(median(timings.wavefile) / median(timings.raw)).toFixed(1)}x)` +
      (rate === 16_000
        ? ''
        : `; resample ours ${ms(timings.ours)} ms, wavefile toSampleRate (decode + resample) ${ms(timings.theirs)} ms`),
  );
}
