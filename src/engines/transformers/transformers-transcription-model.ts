/**
 * `TranscriptionModelV1` for `custom/whisper`: the automatic-speech-recognition pipeline over a
 * local Whisper ONNX export (`onnx/encoder_model.onnx`, `onnx/decoder_model_merged.onnx`). Audio
 * arrives as WAV bytes (see wav-audio.ts); audio longer than 30 s is transcribed in 30 s chunks.
 *
 * Timestamps: segments from Whisper's timestamp tokens; words (`timestampGranularities: ['word']`)
 * from transformers.js aligning the text to the audio with the decoder's cross-attention weights
 * (dynamic time warping over the `alignment_heads` of generation_config.json). Word timestamps need
 * both: `alignment_heads`, and a decoder that outputs `cross_attentions.N` (an export made with
 * attentions, as the `onnx-community` Whisper exports are). A model without them refuses a request
 * for words, naming what is missing; one for words and segments runs the model twice.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CallOptions } from '../../core/chat-model.js';
import { throwIfAborted, UnsupportedError } from '../../core/errors.js';
import type { TimestampGranularity } from '../../core/models.js';
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
  model?: { sessions?: Record<string, { outputNames?: readonly string[] } | undefined> };
};

type TimedText = { start: number; end: number; text: string };

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
): TimedText[] {
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
    /** Why this export cannot give word timestamps; undefined when it can. */
    private readonly noWordTimestamps: string | undefined,
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
    ) as { is_multilingual?: unknown; alignment_heads?: unknown };
    return new TransformersTranscriptionModel(
      modelId,
      recognizer,
      generationConfig.is_multilingual === true,
      whyNoWordTimestamps(generationConfig.alignment_heads, recognizer, folder),
    );
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
    const granularities: readonly TimestampGranularity[] = request.timestamps
      ? (request.timestampGranularities ?? ['segment'])
      : [];
    if (granularities.includes('word') && this.noWordTimestamps) {
      throw new UnsupportedError(`${this.modelId} cannot give word timestamps: ${this.noWordTimestamps}`, {
        details: { param: 'timestamp_granularities' },
      });
    }
    const run = async (timestamps: boolean | 'word') => {
      const output = await this.recognizer(samples, {
        // A multilingual model without a language would log a warning and assume English anyway.
        ...(this.multilingual ? { language: request.language || 'en', task: 'transcribe' } : {}),
        return_timestamps: timestamps,
        ...(durationSeconds > 30 ? { chunk_length_s: 30, stride_length_s: 5 } : {}),
      });
      throwIfAborted(options.signal);
      return Array.isArray(output) ? output[0] : output;
    };
    const first = await run(
      granularities.includes('segment') || (granularities.length === 0 ? false : 'word'),
    );
    const result: TranscriptionResult = { text: (first?.text ?? '').trim(), durationSeconds };
    if (request.language) result.language = request.language;
    if (granularities.includes('segment'))
      result.segments = orderedSegments(first?.chunks ?? [], durationSeconds);
    if (granularities.includes('word')) {
      const words = granularities.includes('segment') ? await run('word') : first;
      result.words = orderedSegments(words?.chunks ?? [], durationSeconds).map(({ start, end, text }) => ({
        start,
        end,
        word: text,
      }));
    }
    return result;
  }

  dispose(): Promise<void> {
    return this.recognizer.dispose();
  }
}

/**
 * Why the export cannot give word timestamps (undefined when it can): transformers.js needs the
 * heads to align with, and the decoder's cross-attention weights as graph outputs.
 */
function whyNoWordTimestamps(
  alignmentHeads: unknown,
  recognizer: Recognizer,
  folder: string,
): string | undefined {
  const missing: string[] = [];
  if (!Array.isArray(alignmentHeads) || alignmentHeads.length === 0) {
    missing.push(`${path.join(folder, 'generation_config.json')} has no alignment_heads`);
  }
  const outputs = recognizer.model?.sessions?.decoder_model_merged?.outputNames ?? [];
  if (!outputs.some((name) => name.startsWith('cross_attentions'))) {
    missing.push(
      'its decoder_model_merged.onnx does not output cross_attentions (export it with attentions)',
    );
  }
  return missing.length > 0 ? missing.join('; ') : undefined;
}
