/**
 * `TranscriptionModelV1` for `custom/whisper`: the automatic-speech-recognition pipeline over a
 * local Whisper ONNX export (`onnx/encoder_model.onnx`, `onnx/decoder_model_merged.onnx`). Audio
 * arrives as WAV bytes (see wav-audio.ts); audio longer than 30 s is transcribed in 30 s chunks.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted, UnsupportedError } from '../../core/errors.js';
import type { TranscriptionModelV1, TranscriptionRequest, TranscriptionResult } from '../../core/models.js';
import type { TransformersLibrary } from './load-library.js';
import { localLoadOptions, type TransformersParams } from './transformers-params.js';
import { WAV_MEDIA_TYPES, WHISPER_SAMPLE_RATE, wavToWhisperInput } from './wav-audio.js';

interface RecognitionOutput {
  text: string;
  chunks?: { timestamp: [number | null, number | null]; text: string }[];
}

type Recognizer = {
  (audio: Float32Array, options: Record<string, unknown>): Promise<RecognitionOutput | RecognitionOutput[]>;
  dispose(): Promise<void>;
};

/**
 * Segments whose times are ordered and inside the audio. Whisper predicts timestamps as tokens, and
 * a weak or confused model predicts impossible ones: a start past the end of the audio or after its
 * own end (a segment from 26.9 s to 1 s of 1 s of audio), no start or no end. A start that cannot be
 * right becomes the previous segment's end; every time is then clamped to [previous end, duration],
 * so `0 <= start <= end <= duration` and each segment starts where or after the previous one ended.
 */
export function orderedSegments(
  chunks: readonly { timestamp: [number | null, number | null]; text: string }[],
  durationSeconds: number,
): { start: number; end: number; text: string }[] {
  let previousEnd = 0;
  return chunks.map((chunk) => {
    const [rawStart, rawEnd] = chunk.timestamp;
    const end = rawEnd ?? durationSeconds;
    const startIsValid =
      rawStart !== null && rawStart >= previousEnd && rawStart <= Math.min(end, durationSeconds);
    const start = startIsValid ? rawStart : previousEnd;
    const clampedEnd = Math.min(Math.max(end, start), durationSeconds);
    previousEnd = clampedEnd;
    return { start, end: clampedEnd, text: chunk.text.trim() };
  });
}

export class TransformersTranscriptionModel implements TranscriptionModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'transformers';

  constructor(
    readonly modelId: string,
    private readonly recognizer: Recognizer,
    /** English-only Whisper models (`*.en`) refuse a language or task; multilingual ones take both. */
    private readonly multilingual: boolean,
  ) {}

  static async load(
    library: TransformersLibrary,
    modelId: string,
    folder: string,
    params: TransformersParams,
  ): Promise<TransformersTranscriptionModel> {
    const recognizer = (await library.pipeline(
      'automatic-speech-recognition',
      folder,
      localLoadOptions(params),
    )) as unknown as Recognizer;
    const generationConfig = JSON.parse(
      await fs.readFile(path.join(folder, 'generation_config.json'), 'utf8'),
    ) as { is_multilingual?: unknown };
    return new TransformersTranscriptionModel(modelId, recognizer, generationConfig.is_multilingual === true);
  }

  async doTranscribe(request: TranscriptionRequest, options: CallOptions = {}): Promise<TranscriptionResult> {
    throwIfAborted(options.signal);
    const mediaType = request.mediaType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!(WAV_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      throw new UnsupportedError(
        `custom/whisper decodes WAV audio only (${WAV_MEDIA_TYPES.join(', ')}); got "${request.mediaType}"`,
      );
    }
    const samples = wavToWhisperInput(request.audio);
    const durationSeconds = samples.length / WHISPER_SAMPLE_RATE;
    if (request.language && !this.multilingual) {
      throw new UnsupportedError(
        `${this.modelId} is an English-only Whisper model; language "${request.language}" cannot be chosen`,
      );
    }
    const output = await this.recognizer(samples, {
      // A multilingual model without a language would log a warning and assume English anyway.
      ...(this.multilingual ? { language: request.language || 'en', task: 'transcribe' } : {}),
      return_timestamps: request.timestamps === true,
      ...(durationSeconds > 30 ? { chunk_length_s: 30, stride_length_s: 5 } : {}),
    });
    throwIfAborted(options.signal);
    const first = Array.isArray(output) ? output[0] : output;
    const result: TranscriptionResult = { text: (first?.text ?? '').trim(), durationSeconds };
    if (request.language) result.language = request.language;
    if (request.timestamps && first?.chunks) result.segments = orderedSegments(first.chunks, durationSeconds);
    return result;
  }

  dispose(): Promise<void> {
    return this.recognizer.dispose();
  }
}
