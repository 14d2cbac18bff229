/**
 * WAV decoding for speech-to-text: Whisper wants mono float samples at 16 kHz, and WAV is what can be
 * decoded without ffmpeg. The RIFF/RIFX/RF64 container and the sample formats (PCM 8/16/24/32-bit integer,
 * 32/64-bit float, 8-bit A-law and µ-law) are read by `wavefile`; samples are scaled to [-1, 1] and channels
 * averaged here, and other rates are resampled linearly, which is enough for speech. Resampling stays ours: wavefile's resampler maps
 * output index i to i·(n−1)/m rather than to the sample's time, and only runs through `toSampleRate`,
 * which re-packs the whole file to its bit depth (docs/benchmarks.md, "WAV decoding").
 */
import wavefile from 'wavefile';
import { z } from 'zod';
import { InvalidArgumentError, UnsupportedError } from '../../core/errors.js';

export const WHISPER_SAMPLE_RATE = 16_000;

/** Media types accepted as WAV. */
export const WAV_MEDIA_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'] as const;

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const A_LAW = 6;
const MU_LAW = 7;
const EXTENSIBLE = 0xfffe;

/** The part of wavefile's untyped `fmt` object we read. */
const formatChunkSchema = z.object({
  audioFormat: z.number(),
  numChannels: z.number(),
  sampleRate: z.number(),
  bitsPerSample: z.number(),
  // WAVE_FORMAT_EXTENSIBLE keeps the real format code in the low 16 bits of the sub-format GUID's first word.
  subformat: z.array(z.number()).optional(),
});
const dataChunkSchema = z.object({ samples: z.instanceof(Uint8Array) });

interface WavFormat {
  encoding: number;
  channels: number;
  sampleRate: number;
  bits: number;
  extensible: boolean;
}

export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const file = new wavefile.WaveFile();
  try {
    file.fromBuffer(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(`the audio is not a readable WAV file (${reason}); send RIFF/WAVE bytes`);
  }
  const format = readFormat(file);
  assertSupported(format);
  try {
    return { samples: toMono(readSamples(file, format), format.channels), sampleRate: format.sampleRate };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(`the WAV file's samples could not be decoded (${reason})`);
  }
}

/**
 * Interleaved samples in [-1, 1]. Integer samples come from wavefile's unpacker and are scaled here:
 * its own `toBitDepth('32f')` re-packs the whole file and cost ~500x a plain decode (docs/benchmarks.md).
 * Little-endian float data is viewed in place, because wavefile's float unpacker is ~100x slower than a
 * typed array and it would read an extensible float file as integers (it looks only at the format code).
 */
function readSamples(file: InstanceType<typeof wavefile.WaveFile>, format: WavFormat): Float32Array {
  if (format.encoding === IEEE_FLOAT) {
    if (file.container === 'RIFX') throw new UnsupportedError('big-endian (RIFX) float WAV is not supported');
    const data = dataChunkSchema.parse(file.data).samples;
    const width = format.bits / 8;
    const copy = data.slice(0, data.byteLength - (data.byteLength % width)).buffer;
    return format.bits === 32 ? new Float32Array(copy) : Float32Array.from(new Float64Array(copy));
  }
  // Companded telephone audio expands to 16-bit PCM first.
  if (format.encoding === A_LAW) file.fromALaw();
  if (format.encoding === MU_LAW) file.fromMuLaw();
  const samples = file.getSamples(true, Float32Array) as unknown as Float32Array;
  const bits = format.encoding === PCM ? format.bits : 16;
  // wavefile hands 8-bit PCM back unsigned (0..255), as the format stores it.
  const offset = bits === 8 ? 128 : 0;
  const scale = 2 ** (bits - 1);
  for (let index = 0; index < samples.length; index++)
    samples[index] = ((samples[index] as number) - offset) / scale;
  return samples;
}

function readFormat(file: InstanceType<typeof wavefile.WaveFile>): WavFormat {
  const chunk = formatChunkSchema.parse(file.fmt);
  const extensible = chunk.audioFormat === EXTENSIBLE && chunk.subformat !== undefined;
  return {
    encoding: extensible ? (chunk.subformat?.[0] ?? 0) & 0xffff : chunk.audioFormat,
    channels: chunk.numChannels,
    sampleRate: chunk.sampleRate,
    bits: chunk.bitsPerSample,
    extensible,
  };
}

function assertSupported(format: WavFormat): void {
  const { encoding, bits, channels } = format;
  const supported =
    (encoding === PCM && [8, 16, 24, 32].includes(bits)) ||
    (encoding === IEEE_FLOAT && [32, 64].includes(bits)) ||
    ((encoding === A_LAW || encoding === MU_LAW) && bits === 8 && !format.extensible);
  if (!supported || channels < 1 || format.sampleRate < 1) {
    throw new UnsupportedError(
      `WAV encoding ${encoding} with ${bits} bits and ${channels} channels is not supported; use PCM 8/16/24/32-bit, float 32/64-bit or 8-bit A-law/µ-law`,
    );
  }
}

/** Averages interleaved channels into one. */
function toMono(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const frames = Math.floor(interleaved.length / channels);
  const mono = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++)
      sum += interleaved[frame * channels + channel] as number;
    mono[frame] = sum / channels;
  }
  return mono;
}

/** Linear resampling to `targetRate`. */
export function resample(samples: Float32Array, sourceRate: number, targetRate: number): Float32Array {
  if (sourceRate === targetRate || samples.length === 0) return samples;
  const length = Math.max(1, Math.round((samples.length * targetRate) / sourceRate));
  const result = new Float32Array(length);
  const step = sourceRate / targetRate;
  for (let index = 0; index < length; index++) {
    const position = index * step;
    const left = Math.min(Math.floor(position), samples.length - 1);
    const right = Math.min(left + 1, samples.length - 1);
    const fraction = position - left;
    result[index] = (samples[left] as number) * (1 - fraction) + (samples[right] as number) * fraction;
  }
  return result;
}

/** Mono float samples at 16 kHz from WAV bytes, as Whisper takes them. */
export function wavToWhisperInput(bytes: Uint8Array): Float32Array {
  const decoded = decodeWav(bytes);
  return resample(decoded.samples, decoded.sampleRate, WHISPER_SAMPLE_RATE);
}
