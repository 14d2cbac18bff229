/**
 * WAV decoding for speech-to-text: Whisper wants mono float samples at 16 kHz, and WAV (PCM 8/16/24/
 * 32-bit integer or 32/64-bit float, any rate, any channel count) is what can be decoded without
 * ffmpeg. Channels are averaged; other rates are resampled linearly, which is enough for speech.
 */
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
const EXTENSIBLE = 0xfffe;

export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || text(0) !== 'RIFF' || text(8) !== 'WAVE') {
    throw new InvalidArgumentError('the audio is not a WAV file (no RIFF/WAVE header)');
  }
  let format: { encoding: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = text(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      let encoding = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (encoding === EXTENSIBLE && size >= 26) encoding = view.getUint16(body + 24, true);
      format = {
        encoding,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new InvalidArgumentError('the WAV file has its data before its fmt chunk');
      const end = Math.min(body + size, bytes.byteLength);
      return { samples: toMono(view, body, end, format), sampleRate: format.sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new InvalidArgumentError('the WAV file has no data chunk');
}

function toMono(
  view: DataView,
  start: number,
  end: number,
  format: { encoding: number; channels: number; sampleRate: number; bits: number },
): Float32Array {
  const { encoding, channels, bits } = format;
  const supported =
    (encoding === PCM && [8, 16, 24, 32].includes(bits)) ||
    (encoding === IEEE_FLOAT && [32, 64].includes(bits));
  if (!supported || channels < 1 || format.sampleRate < 1) {
    throw new UnsupportedError(
      `WAV encoding ${encoding} with ${bits} bits and ${channels} channels is not supported; use PCM 8/16/24/32-bit or float 32/64-bit`,
    );
  }
  const width = bits / 8;
  const frames = Math.floor((end - start) / (width * channels));
  const samples = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++) {
      const at = start + (frame * channels + channel) * width;
      sum += readSample(view, at, encoding, bits);
    }
    samples[frame] = sum / channels;
  }
  return samples;
}

function readSample(view: DataView, at: number, encoding: number, bits: number): number {
  if (encoding === IEEE_FLOAT) return bits === 32 ? view.getFloat32(at, true) : view.getFloat64(at, true);
  switch (bits) {
    case 8:
      return (view.getUint8(at) - 128) / 128;
    case 16:
      return view.getInt16(at, true) / 32_768;
    case 24: {
      const value = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16);
      return value / 8_388_608;
    }
    default:
      return view.getInt32(at, true) / 2_147_483_648;
  }
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
