/**
 * The call kinds a worker answers, and the one spelling of each. A call kind is named after the
 * model task it runs (`ModelTask` in core: `embedding`, `transcription`, …), so that meta `tasks`,
 * pinning keys, explicit request `task`s and calls all say the same word.
 *
 * Peers built before the names were unified sent `embed` and `transcribe`; every wire edge
 * (admin API, NATS, worker IPC) still accepts those through `callKindSchema` and reads them as the
 * new names. Nothing sends them any more.
 */
import { z } from 'zod';
import type {
  ChatRequest,
  ChatResult,
  ChatTemplateRequest,
  ChatTemplateResult,
  EmbeddingRequest,
  EmbeddingResult,
  ImageRequest,
  ImageResult,
  ModelMeta,
  RerankRequest,
  RerankResult,
  SpeechRequest,
  SpeechResult,
  TokenizeRequest,
  TokenizeResult,
  TranscriptionRequest,
  TranscriptionResult,
} from '../../core/index.js';

/** Every non-stream call a worker answers: kind → [request, result]. */
export interface WorkerCallMap {
  chat: [ChatRequest, ChatResult];
  embedding: [EmbeddingRequest, EmbeddingResult];
  rerank: [RerankRequest, RerankResult];
  speech: [SpeechRequest, SpeechResult];
  transcription: [TranscriptionRequest, TranscriptionResult];
  image: [ImageRequest, ImageResult];
  meta: [Record<string, never>, ModelMeta];
  tokenize: [TokenizeRequest, TokenizeResult];
  apply_chat_template: [ChatTemplateRequest, ChatTemplateResult];
}

export type WorkerCallKind = keyof WorkerCallMap;

export const WORKER_CALL_KINDS = [
  'chat',
  'embedding',
  'rerank',
  'speech',
  'transcription',
  'image',
  'meta',
  'tokenize',
  'apply_chat_template',
] as const satisfies readonly WorkerCallKind[];

/** Spellings of earlier peers, read as today's kinds. */
const LEGACY_CALL_KINDS: Readonly<Record<string, WorkerCallKind>> = {
  embed: 'embedding',
  transcribe: 'transcription',
};

/** A call kind as a peer sent it: today's names, or a legacy spelling mapped to today's. */
/** A gateway request's access ticket as a call carries it (admin API, NATS): opaque, bounded. */
export const ticketSchema = z.string().min(1).max(64);

export const callKindSchema = z.preprocess(
  (value) => (typeof value === 'string' ? (LEGACY_CALL_KINDS[value] ?? value) : value),
  z.enum(WORKER_CALL_KINDS, {
    error: (issue) =>
      `unknown call kind ${JSON.stringify(issue.input)}; allowed: ${WORKER_CALL_KINDS.join(', ')}`,
  }),
);
