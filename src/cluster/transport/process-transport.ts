/**
 * The process transport: each worker is a child process (`worker/worker-main.ts`) owning its engine.
 *
 * Local engines hold native memory and threads; in a child, a crash (or `kill -9`) takes down one
 * worker, never the head. The head talks to the child over the IPC channel with
 * `serialization: 'advanced'` (structured clone, so `Uint8Array` travels as bytes).
 *
 * Crashes: when the child dies unexpectedly, in-flight calls fail with a retryable
 * `WorkerFailedError` (the deployment retries them on a healthy worker), open streams end with a
 * `worker_failed` error part, readiness listeners hear `false`, and the child is restarted with
 * backoff; listeners hear `true` once the new child has loaded its engine. `CUDA_VISIBLE_DEVICES`
 * is set from the worker's GPU indices.
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AbortedError,
  type CallOptions,
  type ChatRequest,
  type StreamPart,
  WorkerFailedError,
} from '../../core/index.js';
import type {
  StartWorkerOptions,
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from './transport.js';
import { PushIterator } from './push-iterator.js';
import { TurnBatcher } from './turn-batcher.js';
import {
  envelopeOf,
  type FromWorkerMessage,
  parseFromWorkerEnvelope,
  type ToWorkerMessage,
} from './worker-protocol.js';
import { decodeError, decodeStreamPart, type WireStreamPart } from '../wire/index.js';

export const WORKER_ENTRY = fileURLToPath(new URL('../worker/worker-main.js', import.meta.url));

export interface ProcessTransportOptions {
  /** Node id reported in endpoint locations. Defaults to `head`. */
  nodeId?: string;
  /** Called with one line per worker start, crash and restart (the head's log). */
  log?: (line: string) => void;
  /** Restart attempts after a crash before the worker stays down. Defaults to 5. */
  maxRestarts?: number;
  /** The worker's entry script. Defaults to `WORKER_ENTRY`; tests run misbehaving workers here. */
  workerEntry?: string;
  /**
   * Where each worker's output goes: `(deployment, worker index) => file` (appended, mode 0600, one
   * line per start). Without it a worker writes to this process's stderr.
   */
  workerLogFile?: (deployment: string, workerIndex: number) => string;
}

export function createProcessTransport(options: ProcessTransportOptions = {}): WorkerTransport {
  const nodeId = options.nodeId ?? 'head';
  return {
    name: 'process',
    async startWorker(startOptions) {
      const endpoint = new ProcessEndpoint(startOptions, nodeId, options);
      await endpoint.start();
      return endpoint;
    },
  };
}

interface PendingCall {
  kind: 'call';
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface PendingStream {
  kind: 'stream';
  started: boolean;
  resolveStart(): void;
  rejectStart(error: Error): void;
  push(part: StreamPart): void;
}

class ProcessEndpoint implements WorkerEndpoint {
  readonly id: string;
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, PendingCall | PendingStream>();
  /** Per child process: a restarted worker never gets what was meant for the one before. */
  private readonly outboxes = new WeakMap<ChildProcess, TurnBatcher<ToWorkerMessage>>();
  private readonly readyListeners: ((ready: boolean) => void)[] = [];
  private nextId = 1;
  private closed = false;
  private restarts = 0;
  /** True between the child's `ready` and its exit: only then may requests be sent to it. */
  private serving = false;

  constructor(
    private readonly startOptions: StartWorkerOptions,
    private readonly nodeId: string,
    private readonly options: ProcessTransportOptions,
  ) {
    this.id = `${startOptions.spec.name}#${startOptions.workerIndex}@${nodeId}`;
  }

  get location(): { node: string; pid?: number } {
    const pid = this.child?.pid;
    return pid === undefined ? { node: this.nodeId } : { node: this.nodeId, pid };
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.readyListeners.push(listener);
  }

  /** Forks the child and resolves once its engine is loaded; rejects with the engine's error. */
  start(): Promise<void> {
    const { spec, workerIndex, gpuIndices } = this.startOptions;
    const env = { ...process.env };
    if (gpuIndices.length > 0) env.CUDA_VISIBLE_DEVICES = gpuIndices.join(',');
    const logFile = this.openLogFile();
    let child: ChildProcess;
    try {
      child = fork(this.options.workerEntry ?? WORKER_ENTRY, [], {
        serialization: 'advanced',
        // Never the head's stdout: a background head's stdout is a pipe closed once its ready line is
        // read, and a worker writing there died with EPIPE. Its own log file, else the head's stderr.
        stdio: ['ignore', logFile ?? 2, logFile ?? 'inherit', 'ipc'],
        env,
      });
    } finally {
      if (logFile !== undefined) fs.closeSync(logFile);
    }
    this.child = child;
    this.outboxes.set(
      child,
      new TurnBatcher((messages) => {
        if (child.connected) child.send(envelopeOf(messages));
      }),
    );
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const handle = (message: FromWorkerMessage) => {
        if (message.type === 'ready') {
          ready = true;
          this.serving = true;
          this.options.log?.(`worker ${this.id} ready (pid ${child.pid})`);
          resolve();
        } else if (message.type === 'start-failed') reject(decodeError(message.error));
        else if (message.type === 'warn') this.startOptions.warn(message.message);
        else this.receive(message);
      };
      child.on('message', (raw: unknown) => {
        for (const parsed of parseFromWorkerEnvelope(raw)) {
          if (parsed.ok) handle(parsed.message);
          else this.options.log?.(`worker ${this.id} sent an invalid message, dropped: ${parsed.problem}`);
        }
      });
      child.once('error', (error) => {
        if (!ready) reject(new WorkerFailedError(`worker ${this.id} could not start: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.serving = false;
        }
        if (!ready) {
          reject(
            new WorkerFailedError(`worker ${this.id} exited while loading (code ${code}, signal ${signal})`),
          );
          return;
        }
        if (!this.closed) this.crashed(`exited unexpectedly (code ${code}, signal ${signal})`);
      });
      const send: ToWorkerMessage = { type: 'start', options: { spec, workerIndex, gpuIndices } };
      child.send(send);
    });
  }

  /** The worker's log file, opened for appending with a line that marks this start. */
  private openLogFile(): number | undefined {
    const file = this.options.workerLogFile?.(this.startOptions.spec.name, this.startOptions.workerIndex);
    if (!file) return undefined;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const descriptor = fs.openSync(file, 'a', 0o600);
    const { spec } = this.startOptions;
    fs.writeSync(
      descriptor,
      `${new Date().toISOString()} [${this.id}] starting ${spec.pretrainedModelType} (${spec.inferBackend || 'no backend'}) ${spec.modelPath}\n`,
    );
    return descriptor;
  }

  async call<Kind extends WorkerCallKind>(
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    if (options.signal?.aborted) throw new AbortedError();
    const child = this.requireChild();
    const id = this.nextId++;
    return new Promise<WorkerCallMap[Kind][1]>((resolve, reject) => {
      const onAbort = () => this.post(child, { type: 'abort', id });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        kind: 'call',
        resolve: (value) => {
          done();
          resolve(value as WorkerCallMap[Kind][1]);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      this.post(child, { type: 'call', id, kind, request });
    });
  }

  async stream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    if (options.signal?.aborted) throw new AbortedError();
    const child = this.requireChild();
    const id = this.nextId++;
    let ended = false;
    const onAbort = () => this.post(child, { type: 'abort', id });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      ended = true;
      this.pending.delete(id);
      options.signal?.removeEventListener('abort', onAbort);
      parts.end();
    };
    // The consumer stopped early: stop generating in the worker.
    const parts = new PushIterator<StreamPart>(() => {
      if (ended) return;
      this.post(child, { type: 'abort', id });
      finish();
    });
    await new Promise<void>((resolve, reject) => {
      const pending: PendingStream = {
        kind: 'stream',
        started: false,
        resolveStart: () => {
          pending.started = true;
          resolve();
        },
        rejectStart: (error) => {
          finish();
          reject(error);
        },
        push: (part) => {
          parts.push(part);
          if (part.type === 'finish' || part.type === 'error') finish();
        },
      };
      this.pending.set(id, pending);
      this.post(child, { type: 'stream', id, request });
    });
    return parts;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    this.failPending(new WorkerFailedError(`worker ${this.id} was stopped`, { isRetryable: false }));
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.post(child, { type: 'close' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private receive(message: FromWorkerMessage): void {
    if (!('id' in message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (pending.kind === 'call') {
      if (message.type === 'result') pending.resolve(message.result);
      else if (message.type === 'failed') pending.reject(decodeError(message.error));
      return;
    }
    if (message.type === 'stream-started') pending.resolveStart();
    else if (message.type === 'part') pending.push(fromWire(message.part));
    else if (message.type === 'failed') {
      const error = decodeError(message.error);
      if (pending.started) pending.push({ type: 'error', error });
      else pending.rejectStart(error);
    }
  }

  private crashed(reason: string): void {
    this.options.log?.(`worker ${this.id} ${reason}; restarting it`);
    for (const listener of this.readyListeners) listener(false);
    this.failPending(new WorkerFailedError(`worker ${this.id} ${reason}`));
    void this.restart();
  }

  private async restart(): Promise<void> {
    const maxRestarts = this.options.maxRestarts ?? 5;
    for (let attempt = 1; attempt <= maxRestarts && !this.closed; attempt++) {
      this.restarts += 1;
      try {
        await this.start();
        if (this.closed) return void (await this.close());
        this.options.log?.(`worker ${this.id} restarted (restart ${this.restarts})`);
        for (const listener of this.readyListeners) listener(true);
        return;
      } catch (error) {
        this.options.log?.(`worker ${this.id} restart ${attempt} failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
    this.options.log?.(`worker ${this.id} stays down after ${maxRestarts} failed restarts`);
  }

  private failPending(error: WorkerFailedError): void {
    for (const pending of [...this.pending.values()]) {
      if (pending.kind === 'call') pending.reject(error);
      else if (pending.started) pending.push({ type: 'error', error });
      else pending.rejectStart(error);
    }
    this.pending.clear();
  }

  private requireChild(): ChildProcess {
    const child = this.child;
    if (this.closed || !child || !this.serving || !child.connected) {
      throw new WorkerFailedError(`worker ${this.id} is ${this.closed ? 'stopped' : 'restarting'}`, {
        isRetryable: !this.closed,
      });
    }
    return child;
  }

  /** Sends at the end of the turn, with the other messages of the turn (`TurnBatcher`). */
  private post(child: ChildProcess, message: ToWorkerMessage): void {
    this.outboxes.get(child)?.push(message);
  }
}

function fromWire(part: WireStreamPart): StreamPart {
  return decodeStreamPart(part);
}
