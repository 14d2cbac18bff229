/**
 * The in-process transport: the worker's engine lives in this process (the embedded head).
 *
 * Used for SaaS engines, whose work is network I/O, and as the reference implementation for the
 * transport conformance suite. Local engines that own native memory run behind a process transport.
 */
import {
  type CallOptions,
  type ChatRequest,
  type EngineFactory,
  type EngineInstance,
  type OpenAIPassThroughV1,
  offersOpenAIPassThrough,
  type StreamPart,
  toByzerLLMError,
  UnsupportedError,
} from '../../core/index.js';
import { resolveEngine } from '../../engines/index.js';
import type {
  StartWorkerOptions,
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from './transport.js';

export interface InProcessTransportOptions {
  /** Chooses the engine factory for a spec. Defaults to the engine registry. */
  resolve?: (spec: StartWorkerOptions['spec']) => EngineFactory;
  /** Node id reported in endpoint locations. Defaults to `head`. */
  nodeId?: string;
}

export function createInProcessTransport(options: InProcessTransportOptions = {}): WorkerTransport {
  const resolve = options.resolve ?? resolveEngine;
  const nodeId = options.nodeId ?? 'head';
  return {
    name: 'in-process',
    async startWorker(startOptions) {
      const factory = resolve(startOptions.spec);
      const context = {
        spec: startOptions.spec,
        workerIndex: startOptions.workerIndex,
        gpuIndices: startOptions.gpuIndices,
        warn: startOptions.warn,
        ...(startOptions.progress ? { progress: startOptions.progress } : {}),
        ...(startOptions.signal ? { signal: startOptions.signal } : {}),
      };
      const instance = await factory(context);
      return new InProcessEndpoint(
        `${startOptions.spec.name}#${startOptions.workerIndex}@${nodeId}`,
        nodeId,
        instance,
      );
    },
  };
}

class InProcessEndpoint implements WorkerEndpoint {
  readonly location: { node: string };
  readonly openAI?: OpenAIPassThroughV1;
  private closed = false;

  constructor(
    readonly id: string,
    node: string,
    private readonly instance: EngineInstance,
  ) {
    this.location = { node };
    const chat = instance.chat;
    // The engine's own methods, not a wrapper that maps errors: the capability rejects and throws
    // `ByzerLLMError`s only (its contract), and a wrapper would cost a promise hop per request.
    if (offersOpenAIPassThrough(chat)) this.openAI = chat;
  }

  async call<Kind extends WorkerCallKind>(
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    try {
      return (await this.dispatch(kind, request, options)) as WorkerCallMap[Kind][1];
    } catch (error) {
      throw toByzerLLMError(error);
    }
  }

  private dispatch(kind: WorkerCallKind, request: unknown, options: CallOptions): Promise<unknown> {
    const instance = this.instance;
    // The request was parsed with its kind's schema at the edge that received it.
    const input = request as never;
    switch (kind) {
      case 'chat':
        return this.require(instance.chat, 'chat').doGenerate(input, options);
      case 'embedding':
        return this.require(instance.embedding, 'embeddings').doEmbed(input, options);
      case 'rerank':
        return this.require(instance.rerank, 'rerank').doRerank(input, options);
      case 'speech':
        return this.require(instance.speech, 'speech').doSpeech(input, options);
      case 'transcription':
        return this.require(instance.transcription, 'transcription').doTranscribe(input, options);
      case 'image':
        return this.require(instance.image, 'image generation').doGenerateImage(input, options);
      case 'meta':
        return Promise.resolve(instance.meta);
      case 'tokenize':
        return this.require(instance.tokenizer, 'tokenize').doTokenize(
          request as WorkerCallMap['tokenize'][0],
          options,
        );
      case 'apply_chat_template':
        return this.require(instance.tokenizer, 'apply_chat_template').doApplyChatTemplate(
          request as WorkerCallMap['apply_chat_template'][0],
          options,
        );
    }
  }

  async stream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    try {
      const parts = await this.require(this.instance.chat, 'chat').doStream(request, options);
      return endWithErrorPart(parts);
    } catch (error) {
      throw toByzerLLMError(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.instance.dispose();
  }

  private require<Model>(model: Model | undefined, task: string): Model {
    if (model === undefined) {
      throw new UnsupportedError(
        `worker ${this.id} (${this.instance.meta.model_name}) does not offer ${task}; it offers: ${this.instance.meta.tasks.join(', ')}`,
      );
    }
    return model;
  }
}

/** Turns an exception thrown mid-stream into the protocol's terminal `error` part. */
export async function* endWithErrorPart(parts: AsyncIterable<StreamPart>): AsyncIterable<StreamPart> {
  try {
    for await (const part of parts) {
      yield part;
      if (part.type === 'finish' || part.type === 'error') return;
    }
  } catch (error) {
    yield { type: 'error', error: toByzerLLMError(error) };
  }
}
