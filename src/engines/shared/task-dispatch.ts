/**
 * Byzer-LLM's convention for audio and image tasks through chat (byzer-spec §7 "Task dispatch on
 * the last message when it is a dict"), implemented once for every engine.
 *
 * Dispatch is explicit, never guessed from chat text: a request with `task` set, or any chat
 * message to a deployment whose primary task is not chat (`ModelMeta.primary_task`: a `tts-1`,
 * `whisper-1` or `dall-e-3` deployment, or a TTS-only provider). There, a last user message whose
 * text is a JSON object (or a JSON list whose first element is one) runs the task its keys name:
 * - `voice` → speech: `{input, voice, response_format (mp3), speed}`; the text is the audio, base64.
 * - `input` without `voice` → image generation: `{input, size (1024x1024), quality, n}`; the text is
 *   the first image, base64.
 * - `audio` (or `audio_url`) → transcription: a `data:audio/…;base64,` URL or bare base64 (taken as
 *   `audio/<type>`, `type` defaulting to wav); the text is the transcription as a JSON string.
 * Any other message is an ordinary chat (and fails on an instance without a chat model). Streaming speech yields `audio-delta` parts (the bytes in
 * 32000-byte pieces, after the provider answered); streaming the other tasks yields their text as
 * one delta.
 *
 * `withTaskDispatch` wraps an `EngineInstance`; an instance without chat but with speech or image
 * (a TTS-only provider) gets a chat model that only dispatches, so `byzerllm query` reaches it.
 */
import { randomUUID } from 'node:crypto';
import {
  type CallOptions,
  type ChatModelV1,
  type ChatRequest,
  type ChatResult,
  type ChatTaskKind,
  MODEL_PROTOCOL_VERSION,
  type OpenAIPassThroughV1,
  offersOpenAIPassThrough,
  type StreamPart,
} from '../../core/chat-model.js';
import { InvalidArgumentError, UnsupportedError } from '../../core/errors.js';
import type { EngineInstance, ModelTask, SpeechResult } from '../../core/models.js';

/** Size of the audio pieces a streamed TTS answer is cut into (Byzer-LLM's 32000-byte chunks). */
const AUDIO_CHUNK_BYTES = 32_000;

export interface ChatTask {
  kind: ChatTaskKind;
  fields: Record<string, unknown>;
}

/**
 * The task a chat request runs, or undefined for an ordinary chat. Dispatch is explicit: the
 * request's `task` field, or the deployment's primary task when that is not chat. Chat text on a
 * chat deployment is never guessed to be a task, however much it looks like one.
 */
export function taskOfRequest(request: ChatRequest, primaryTask: ModelTask = 'chat'): ChatTask | undefined {
  if (request.task) return { kind: request.task, fields: taskFields(request, request.task) };
  if (primaryTask === 'chat') return undefined;
  const last = request.messages.at(-1);
  if (last?.role !== 'user') return undefined;
  // Audio alone (the client turns Byzer-LLM's `{"audio": …}` / `<_audio_>` into an audio part) is speech-to-text.
  const audio = loneAudio(last.content);
  if (audio !== undefined) return { kind: 'transcription', fields: { audio } };
  const object = jsonObjectOf(lastUserText(request));
  if (!object) return undefined;
  if ('voice' in object) return { kind: 'speech', fields: object };
  if ('audio' in object || 'audio_url' in object) return { kind: 'transcription', fields: object };
  if ('input' in object) return { kind: 'image', fields: object };
  return undefined;
}

/** The fields of an explicitly requested task: the last user message as a JSON object. */
function taskFields(request: ChatRequest, kind: ChatTaskKind): Record<string, unknown> {
  const last = request.messages.at(-1);
  if (last?.role === 'user' && kind === 'transcription') {
    const audio = loneAudio(last.content);
    if (audio !== undefined) return { audio };
  }
  const object = jsonObjectOf(lastUserText(request));
  if (!object) {
    throw new InvalidArgumentError(
      `task "${kind}" needs the last user message to be a JSON object with the task's fields, e.g. ${TASK_EXAMPLES[kind]}`,
    );
  }
  return object;
}

const TASK_EXAMPLES: Record<ChatTaskKind, string> = {
  speech: '{"input":"hello","voice":"alloy"}',
  image: '{"input":"a cat","size":"1024x1024"}',
  transcription: '{"audio":"data:audio/wav;base64,…"}',
};

function loneAudio(content: ChatRequest['messages'][number]['content']): string | undefined {
  if (!Array.isArray(content) || content.length === 0) return undefined;
  const audio = content.filter((part) => part.type === 'audio');
  const rest = content.filter(
    (part) => part.type !== 'audio' && !(part.type === 'text' && part.text.trim() === ''),
  );
  return audio.length === 1 && rest.length === 0 ? audio[0]!.url : undefined;
}

function lastUserText(request: ChatRequest): string | undefined {
  const last = request.messages.at(-1);
  if (last?.role !== 'user') return undefined;
  if (typeof last.content === 'string') return last.content;
  return last.content.length === 1 && last.content[0]?.type === 'text' ? last.content[0].text : undefined;
}

/** A JSON object, or a JSON list whose first element is one (Byzer-LLM sends both). */
function jsonObjectOf(text: string | undefined): Record<string, unknown> | undefined {
  const trimmed = text?.trim();
  if (!trimmed || (!trimmed.startsWith('{') && !trimmed.startsWith('['))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const fields = Array.isArray(parsed) ? parsed[0] : parsed;
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return undefined;
  return fields as Record<string, unknown>;
}

/** The deployment's primary task: declared in meta, else chat when it chats, else its first task. */
export function primaryTaskOf(instance: EngineInstance): ModelTask {
  if (instance.meta.primary_task) return instance.meta.primary_task;
  if (instance.chat) return 'chat';
  if (instance.speech) return 'speech';
  if (instance.image) return 'image';
  if (instance.transcription) return 'transcription';
  return instance.meta.tasks[0] ?? 'chat';
}

/** Wraps the instance's chat model so JSON task messages reach its speech/image/transcription models. */
export function withTaskDispatch(instance: EngineInstance): EngineInstance {
  if (!instance.chat && !instance.speech && !instance.image && !instance.transcription) return instance;
  const primaryTask = primaryTaskOf(instance);
  const chat = new TaskDispatchingChatModel(instance, primaryTask);
  const tasks: ModelTask[] = instance.meta.tasks.includes('chat')
    ? instance.meta.tasks
    : ['chat', ...instance.meta.tasks];
  // Keep the instance's own prototype methods (dispose) bound to it.
  return {
    meta: { ...instance.meta, tasks, primary_task: primaryTask },
    chat,
    ...(instance.embedding ? { embedding: instance.embedding } : {}),
    ...(instance.rerank ? { rerank: instance.rerank } : {}),
    ...(instance.speech ? { speech: instance.speech } : {}),
    ...(instance.transcription ? { transcription: instance.transcription } : {}),
    ...(instance.image ? { image: instance.image } : {}),
    ...(instance.tokenizer ? { tokenizer: instance.tokenizer } : {}),
    dispose: () => instance.dispose(),
  };
}

class TaskDispatchingChatModel implements ChatModelV1 {
  readonly specificationVersion = MODEL_PROTOCOL_VERSION;
  readonly provider: string;
  readonly modelId: string;
  doGenerateOpenAI?: OpenAIPassThroughV1['doGenerateOpenAI'];
  doStreamOpenAI?: OpenAIPassThroughV1['doStreamOpenAI'];

  constructor(
    private readonly instance: EngineInstance,
    private readonly primaryTask: ModelTask,
  ) {
    // On a chat deployment an OpenAI body never runs a task (the gateway sends no `task`), so the
    // chat model's OpenAI pass-through is offered as it is; elsewhere every message may be a task.
    const chat = instance.chat;
    if (this.primaryTask === 'chat' && offersOpenAIPassThrough(chat)) {
      this.doGenerateOpenAI = chat.doGenerateOpenAI.bind(chat);
      this.doStreamOpenAI = chat.doStreamOpenAI.bind(chat);
    }
    const named = instance.chat ?? instance.speech ?? instance.image ?? instance.transcription;
    this.provider = named?.provider ?? instance.meta.backend;
    this.modelId = named?.modelId ?? instance.meta.model_name;
  }

  async doGenerate(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    const task = taskOfRequest(request, this.primaryTask);
    if (task) return this.runTask(task, options);
    return this.chatModel().doGenerate(request, options);
  }

  async doStream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const task = taskOfRequest(request, this.primaryTask);
    if (!task) return this.chatModel().doStream(request, options);
    const requestId = `task-${randomUUID()}`;
    const modelId = this.modelId;
    const finish: StreamPart = {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 0, outputTokens: 0 },
    };
    if (task.kind === 'speech') {
      // Audio streams as bytes (Byzer-LLM's binary stream), in pieces of AUDIO_CHUNK_BYTES.
      const { audio, mediaType } = await this.speak(task.fields, options);
      return (async function* (): AsyncGenerator<StreamPart> {
        yield { type: 'response-metadata', requestId, modelId };
        for (let start = 0; start < audio.length; start += AUDIO_CHUNK_BYTES) {
          yield { type: 'audio-delta', data: audio.subarray(start, start + AUDIO_CHUNK_BYTES), mediaType };
        }
        yield finish;
      })();
    }
    const text = await this.taskText(task, options);
    return (async function* (): AsyncGenerator<StreamPart> {
      yield { type: 'response-metadata', requestId, modelId };
      yield { type: 'text-delta', delta: text };
      yield finish;
    })();
  }

  private chatModel(): ChatModelV1 {
    if (this.instance.chat) return this.instance.chat;
    throw new UnsupportedError(
      `${this.provider} does not chat; send a JSON task message such as {"input":"text","voice":"…"} (tasks: ${this.instance.meta.tasks.join(', ')})`,
    );
  }

  private async runTask(task: ChatTask, options: CallOptions): Promise<ChatResult> {
    const text = await this.taskText(task, options);
    return {
      text,
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 0, outputTokens: 0 },
      requestId: `task-${randomUUID()}`,
      modelId: this.modelId,
      warnings: [],
    };
  }

  private async taskText(task: ChatTask, options: CallOptions): Promise<string> {
    const { fields } = task;
    if (task.kind === 'speech') {
      const result = await this.speak(fields, options);
      return Buffer.from(result.audio).toString('base64');
    }
    if (task.kind === 'image') {
      const model = this.instance.image;
      if (!model) throw this.unsupported('image generation', '"input" without "voice"');
      const quality = optionalString(fields, 'quality');
      const result = await model.doGenerateImage(
        {
          prompt: requireString(fields, 'input'),
          size: optionalString(fields, 'size') ?? '1024x1024',
          ...(quality ? { quality } : {}),
          ...(typeof fields.n === 'number' ? { n: fields.n } : {}),
        },
        options,
      );
      const first = result.images[0];
      if (!first) throw new UnsupportedError(`${this.provider} returned no image`);
      return first.base64;
    }
    const model = this.instance.transcription;
    if (!model) throw this.unsupported('transcription', '"audio"');
    const { audio, mediaType } = decodeAudio(fields);
    const language = optionalString(fields, 'language');
    const result = await model.doTranscribe(
      { audio, mediaType, timestamps: true, ...(language ? { language } : {}) },
      options,
    );
    return JSON.stringify(result);
  }

  private async speak(fields: Record<string, unknown>, options: CallOptions): Promise<SpeechResult> {
    const model = this.instance.speech;
    if (!model) throw this.unsupported('speech', '"voice"');
    return model.doSpeech(
      {
        input: requireString(fields, 'input'),
        voice: String(fields.voice),
        responseFormat: optionalString(fields, 'response_format') ?? 'mp3',
        ...(typeof fields.speed === 'number' ? { speed: fields.speed } : {}),
      },
      options,
    );
  }

  private unsupported(task: string, key: string): UnsupportedError {
    return new UnsupportedError(
      `${this.provider} model ${this.modelId} does not offer ${task} (asked by a JSON message with ${key}); it offers: ${this.instance.meta.tasks.join(', ')}`,
    );
  }
}

function requireString(fields: Record<string, unknown>, key: string): string {
  const value = fields[key];
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(`the task message needs a non-empty string "${key}"`);
  }
  return value;
}

function optionalString(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `data:audio/wav;base64,…` or bare base64 (with `type`, default `wav`). */
function decodeAudio(fields: Record<string, unknown>): { audio: Uint8Array; mediaType: string } {
  const value = fields.audio ?? fields.audio_url;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(
      'the task message needs "audio": a data:audio/…;base64, URL or base64 text',
    );
  }
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(value);
  if (match) return { mediaType: match[1] ?? 'audio/wav', audio: Buffer.from(match[2] ?? '', 'base64') };
  if (/^https?:\/\//.test(value)) {
    throw new InvalidArgumentError('"audio" must be a data URL or base64 text; http URLs are not fetched');
  }
  const type = optionalString(fields, 'type') ?? 'wav';
  return { mediaType: `audio/${type}`, audio: Buffer.from(value, 'base64') };
}
