/**
 * Speech, transcription and image generation: typed helpers, and Byzer-LLM's JSON-content convention
 * through `chatOai` for models whose meta has no `chat` task:
 * - TTS: `{"input": text, "voice": …, "response_format": "mp3"}` → `output` = base64 audio;
 * - speech-to-text: `{"audio": "data:audio/…;base64,…"}` → `output` = the text;
 * - images: `{"input": prompt, "size": "1024x1024", "quality": …}` → `output` = base64 image.
 */
import {
  InvalidArgumentError,
  type ImageResult,
  type ModelMeta,
  type SpeechResult,
  type TranscriptionResult,
  UnsupportedError,
} from '../core/index.js';
import type { WorkerCallKind, WorkerCallMap } from '../cluster/index.js';
import type { ClientSession } from './client-session.js';
import type { ChatOaiOptions } from './chat-options.js';
import { decodeDataUrl } from './multimodal.js';
import { type ChatResponse, chatResponse, emptyMeta } from './responses.js';

export interface SpeechOptions {
  model?: string;
  input: string;
  voice?: string;
  responseFormat?: string;
  signal?: AbortSignal;
}
export interface TranscribeOptions {
  model?: string;
  /** A `data:audio/…;base64,` URL, or the bytes with their media type. */
  audio: string | { data: Uint8Array; mediaType: string };
  language?: string;
  signal?: AbortSignal;
}
export interface GenerateImageOptions {
  model?: string;
  input: string;
  size?: string;
  quality?: string;
  n?: number;
  signal?: AbortSignal;
}

/** One task call on a deployment; the signal is passed only when given (the wire refuses `undefined`). */
async function callTask<Kind extends WorkerCallKind>(
  llm: ClientSession,
  model: string,
  kind: Kind,
  request: WorkerCallMap[Kind][0],
  signal: AbortSignal | undefined,
): Promise<WorkerCallMap[Kind][1]> {
  const cluster = await llm.cluster();
  return cluster.call(model, kind, request, signal ? { signal } : {});
}

export async function speech(
  llm: ClientSession,
  model: string,
  options: SpeechOptions,
): Promise<SpeechResult> {
  return callTask(
    llm,
    model,
    'speech',
    {
      input: options.input,
      ...(options.voice ? { voice: options.voice } : {}),
      ...(options.responseFormat ? { responseFormat: options.responseFormat } : {}),
    },
    options.signal,
  );
}

export async function transcribe(
  llm: ClientSession,
  model: string,
  options: TranscribeOptions,
): Promise<TranscriptionResult> {
  const audio = typeof options.audio === 'string' ? decodeDataUrl(options.audio) : options.audio;
  return callTask(
    llm,
    model,
    'transcription',
    {
      audio: audio.data,
      mediaType: audio.mediaType,
      ...(options.language ? { language: options.language } : {}),
    },
    options.signal,
  );
}

export async function generateImage(
  llm: ClientSession,
  model: string,
  options: GenerateImageOptions,
): Promise<ImageResult> {
  return callTask(
    llm,
    model,
    'image',
    {
      prompt: options.input,
      ...(options.size ? { size: options.size } : {}),
      ...(options.quality ? { quality: options.quality } : {}),
      ...(options.n ? { n: options.n } : {}),
    },
    options.signal,
  );
}

/** `chatOai` on a speech/transcription/image model: the last message's JSON content is the request. */
export async function chatViaTask(
  llm: ClientSession,
  model: string,
  meta: ModelMeta,
  options: ChatOaiOptions,
): Promise<ChatResponse> {
  const conversation = options.conversations;
  const last = typeof conversation === 'string' ? conversation : conversation.at(-1)?.content;
  let content: Record<string, unknown>;
  try {
    content = JSON.parse(String(last)) as Record<string, unknown>;
  } catch {
    throw new InvalidArgumentError(
      `model ${model} does ${meta.tasks.join(', ')}, not chat: the last message must be JSON such as {"input": …}`,
    );
  }
  const signal = options.signal;
  const started = performance.now();
  let output: string;
  if (meta.tasks.includes('speech') && typeof content.input === 'string') {
    const result = await speech(llm, model, {
      input: content.input,
      ...(typeof content.voice === 'string' ? { voice: content.voice } : {}),
      ...(typeof content.response_format === 'string' ? { responseFormat: content.response_format } : {}),
      ...(signal ? { signal } : {}),
    });
    output = Buffer.from(result.audio).toString('base64');
  } else if (meta.tasks.includes('transcription') && typeof content.audio === 'string') {
    output = (await transcribe(llm, model, { audio: content.audio, ...(signal ? { signal } : {}) })).text;
  } else if (meta.tasks.includes('image') && typeof content.input === 'string') {
    const result = await generateImage(llm, model, {
      input: content.input,
      ...(typeof content.size === 'string' ? { size: content.size } : {}),
      ...(typeof content.quality === 'string' ? { quality: content.quality } : {}),
      ...(signal ? { signal } : {}),
    });
    output = result.images[0]?.base64 ?? '';
  } else {
    throw new UnsupportedError(
      `model ${model} does ${meta.tasks.join(', ') || 'nothing'}; its JSON content needs "input" (speech, image) or "audio" (transcription)`,
    );
  }
  const responseMeta = emptyMeta();
  responseMeta.time_cost = (performance.now() - started) / 1000;
  return chatResponse({ output, meta: responseMeta, input: { messages: [] }, toolCalls: [] });
}
