/**
 * The worker transport: how the router reaches a worker.
 *
 * The router never knows where a worker runs. A transport starts workers (in this process, in a child
 * process, or on another node over NATS) and hands back `WorkerEndpoint`s that speak the model
 * protocol. Every transport must pass the conformance suite in `test/cluster/transport-conformance.ts`:
 * same results, same error classes, streams that end with one `finish` or one `error` part, and
 * cancellation that reaches the engine.
 */
import type {
  CallOptions,
  ChatRequest,
  ChatResult,
  ChatTemplateRequest,
  ChatTemplateResult,
  DeploymentSpec,
  EmbeddingRequest,
  EmbeddingResult,
  ImageRequest,
  ImageResult,
  ModelMeta,
  OpenAIPassThroughV1,
  RerankRequest,
  RerankResult,
  SpeechRequest,
  SpeechResult,
  StreamPart,
  TokenizeRequest,
  TokenizeResult,
  TranscriptionRequest,
  TranscriptionResult,
} from '../../core/index.js';

/** Every non-stream call a worker answers: kind → [request, result]. */
export interface WorkerCallMap {
  chat: [ChatRequest, ChatResult];
  embed: [EmbeddingRequest, EmbeddingResult];
  rerank: [RerankRequest, RerankResult];
  speech: [SpeechRequest, SpeechResult];
  transcribe: [TranscriptionRequest, TranscriptionResult];
  image: [ImageRequest, ImageResult];
  meta: [Record<string, never>, ModelMeta];
  tokenize: [TokenizeRequest, TokenizeResult];
  apply_chat_template: [ChatTemplateRequest, ChatTemplateResult];
}

export type WorkerCallKind = keyof WorkerCallMap;

export const WORKER_CALL_KINDS: readonly WorkerCallKind[] = [
  'chat',
  'embed',
  'rerank',
  'speech',
  'transcribe',
  'image',
  'meta',
  'tokenize',
  'apply_chat_template',
];

/** A started worker, reachable through some transport. */
export interface WorkerEndpoint {
  /** Unique within the cluster, e.g. `gpt_chat#0@head`. */
  readonly id: string;
  /** Where it runs: a node id (`head` for the embedded head) and, for child processes, a pid. */
  readonly location: { node: string; pid?: number };
  call<Kind extends WorkerCallKind>(
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options?: CallOptions,
  ): Promise<WorkerCallMap[Kind][1]>;
  /** Resolves when the engine accepted the request; the iterable ends with `finish` or `error`. */
  stream(request: ChatRequest, options?: CallOptions): Promise<AsyncIterable<StreamPart>>;
  /**
   * The engine's OpenAI pass-through (`OpenAIPassThroughV1`), on transports that reach the engine
   * without serialising (in-process) and only when the engine offers it. Errors are
   * `ByzerLLMError`s, as from `call`/`stream`.
   */
  readonly openAI?: OpenAIPassThroughV1;
  /** Stops the worker and disposes its engine. Idempotent. */
  close(): Promise<void>;
  /**
   * Transports that restart crashed workers (the process transport) report readiness here: `false`
   * when the worker died, `true` once it serves again. The deployment routes around it meanwhile.
   */
  onReadyChange?(listener: (ready: boolean) => void): void;
}

export interface StartWorkerOptions {
  spec: DeploymentSpec;
  workerIndex: number;
  gpuIndices: number[];
  /** The node chosen by placement. Transports that run workers on this machine ignore it. */
  node?: string;
  /** Receives non-fatal warnings from the engine (unknown params, ignored settings). */
  warn: (message: string) => void;
  signal?: AbortSignal;
}

export interface WorkerTransport {
  readonly name: string;
  /** Loads the engine for one worker and returns its endpoint once it is ready to serve. */
  startWorker(options: StartWorkerOptions): Promise<WorkerEndpoint>;
  /** Ends every call in flight on a node that was lost (transports that span nodes). */
  failNode?(node: string, reason: string): void;
}
