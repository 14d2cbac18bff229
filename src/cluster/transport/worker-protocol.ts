/**
 * The messages between the head and a worker process (IPC channel, `serialization: 'advanced'` so
 * `Uint8Array`s such as audio travel as bytes). Errors travel as `SerializedError` and are rebuilt
 * with their class on the other side; stream parts likewise.
 */
import type { SerializedError } from '../../core/errors.js';
import type { ChatRequest, StreamPart } from '../../core/index.js';
import type { StartWorkerOptions, WorkerCallKind } from './transport.js';

export type WireStreamPart =
  | Exclude<StreamPart, { type: 'error' }>
  | { type: 'error'; error: SerializedError };

/** Head → worker. */
export type ToWorkerMessage =
  | { type: 'start'; options: Pick<StartWorkerOptions, 'spec' | 'workerIndex' | 'gpuIndices'> }
  | { type: 'call'; id: number; kind: WorkerCallKind; request: unknown }
  | { type: 'stream'; id: number; request: ChatRequest }
  | { type: 'abort'; id: number }
  | { type: 'close' };

/** Worker → head. */
export type FromWorkerMessage =
  | { type: 'ready' }
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'warn'; message: string }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'stream-started'; id: number }
  | { type: 'part'; id: number; part: WireStreamPart };
