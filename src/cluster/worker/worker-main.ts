/**
 * The entry of a worker process (forked by the process transport).
 *
 * It waits for one `start` message, loads the engine for that worker through the in-process
 * transport (so a worker process behaves exactly like an in-process worker), then answers `call` and
 * `stream` messages until `close`, SIGTERM, or the head going away (IPC disconnect), disposing the
 * engine before it exits.
 */
import { InvalidArgumentError, toByzerLLMError } from '../../core/index.js';
import { createInProcessTransport } from '../transport/in-process-transport.js';
import type { WorkerEndpoint } from '../transport/transport.js';
import { TurnBatcher } from '../transport/turn-batcher.js';
import {
  envelopeOf,
  type FromWorkerMessage,
  type Parsed,
  parseToWorkerEnvelope,
  type ToWorkerMessage,
} from '../transport/worker-protocol.js';
import { encodeError, encodeStreamPart, type WorkerCallKind } from '../wire/index.js';
import { type BusyMeter, busyMeterFor, withBusySeconds } from './busy-meter.js';

let endpoint: WorkerEndpoint | undefined;
/** Busy time per request (CPU or GPU seconds), reported in its usage; made at `start`. */
let meter: BusyMeter | undefined;
/** Calls that only read the model's description or tokenizer: not metered (they run no model). */
const UNMETERED_KINDS = new Set<WorkerCallKind>(['meta', 'tokenize', 'apply_chat_template']);
const aborts = new Map<number, AbortController>();
let exiting = false;

/** What one turn produces leaves as one IPC write (`TurnBatcher`): one message, or a `batch`. */
const outbox = new TurnBatcher<FromWorkerMessage>((messages) => {
  if (process.connected) process.send?.(envelopeOf(messages));
});

function send(message: FromWorkerMessage): void {
  outbox.push(message);
}

async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    for (const controller of aborts.values()) controller.abort();
    await endpoint?.close().catch(() => {});
  }
  outbox.flush();
  process.exit(code);
}

/** One line to the worker's log (its stderr: the worker's log file, or the head's log). */
function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} [worker ${process.pid}] ${line}\n`);
}

/**
 * `loading: N%` lines in the worker's log, in steps of 10 (and 100%): `byzerllm deploy` shows them
 * as a progress line (cli/load-progress.ts reads this format).
 */
function progressLogger(): (fraction: number) => void {
  let shown = -1;
  return (fraction) => {
    const percent = Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
    const step = percent === 100 ? 100 : percent - (percent % 10);
    if (step <= shown) return;
    shown = step;
    log(`loading: ${step}%`);
  };
}

async function start(options: Extract<ToWorkerMessage, { type: 'start' }>['options']): Promise<void> {
  const startedAt = performance.now();
  meter = busyMeterFor(options.gpuIndices.length);
  try {
    endpoint = await createInProcessTransport({ nodeId: 'head' }).startWorker({
      ...options,
      warn: (message) => {
        log(`warning: ${message}`);
        send({ type: 'warn', message });
      },
      progress: progressLogger(),
    });
    log(
      `ready: ${options.spec.name}#${options.workerIndex} loaded in ${Math.round(performance.now() - startedAt)} ms`,
    );
    send({ type: 'ready' });
  } catch (error) {
    log(`failed to load: ${toByzerLLMError(error).message}`);
    send({ type: 'start-failed', error: encodeError(error) });
    await exit(1);
  }
}

async function call(message: Extract<ToWorkerMessage, { type: 'call' }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.id, controller);
  const metered = UNMETERED_KINDS.has(message.kind) ? undefined : meter;
  metered?.begin(message.id);
  try {
    const result = await endpoint!.call(message.kind, message.request as never, {
      signal: controller.signal,
    });
    send({
      type: 'result',
      id: message.id,
      result: metered ? withBusySeconds(result, metered.field, metered.end(message.id)) : result,
    });
  } catch (error) {
    send({ type: 'failed', id: message.id, error: encodeError(error) });
  } finally {
    metered?.end(message.id);
    aborts.delete(message.id);
  }
}

async function stream(message: Extract<ToWorkerMessage, { type: 'stream' }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.id, controller);
  meter?.begin(message.id);
  try {
    const parts = await endpoint!.stream(message.request, { signal: controller.signal });
    send({ type: 'stream-started', id: message.id });
    for await (const part of parts) {
      const sent =
        part.type === 'finish' && meter ? withBusySeconds(part, meter.field, meter.end(message.id)) : part;
      send({ type: 'part', id: message.id, part: encodeStreamPart(sent) });
    }
  } catch (error) {
    send({ type: 'failed', id: message.id, error: encodeError(error) });
  } finally {
    meter?.end(message.id);
    aborts.delete(message.id);
  }
}

process.on('message', (raw: unknown) => {
  for (const parsed of parseToWorkerEnvelope(raw)) receive(parsed);
});

function receive(parsed: Parsed<ToWorkerMessage>): void {
  if (!parsed.ok) {
    // One line to stderr (the head's log), and a failed answer when the request can be named.
    process.stderr.write(
      `worker ${process.pid}: dropped an invalid message from the head: ${parsed.problem}\n`,
    );
    if (parsed.id !== undefined) {
      const error = new InvalidArgumentError(`invalid request: ${parsed.problem}`);
      send({ type: 'failed', id: parsed.id, error: encodeError(error) });
    }
    return;
  }
  const message = parsed.message;
  switch (message.type) {
    case 'start':
      void start(message.options);
      break;
    case 'call':
      void call(message);
      break;
    case 'stream':
      void stream(message);
      break;
    case 'abort':
      aborts.get(message.id)?.abort();
      break;
    case 'close':
      void exit(0);
      break;
  }
}

process.on('SIGTERM', () => void exit(0));
// The head is gone (even killed): a worker without a head only holds memory.
process.on('disconnect', () => void exit(0));
