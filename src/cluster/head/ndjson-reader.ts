/**
 * Reads the admin API's NDJSON stream answer (see `ndjson-response.ts`) into stream parts, on the
 * client side of the CLI path.
 *
 * Written against the body's `data` events rather than as async generators over its async
 * iterator: at a few hundred tokens a second per stream, the per-chunk promise of a Readable's
 * iterator, a text decoder per chunk, string concatenation and two generator hops per line cost the
 * client more CPU than the line's parse. Lines are cut at the newline byte (never inside a UTF-8
 * sequence) and decoded once each; each line is one `JSON.parse`.
 */
import type { Readable } from 'node:stream';
import { type ByzerLLMError, type StreamPart, toByzerLLMError } from '../../core/index.js';
import { PushIterator } from '../transport/push-iterator.js';
import { decodeStreamPart, reviveBinary, type WireStreamPart } from '../wire/index.js';

/** Parsed parts held before the body is paused, so a slow consumer does not buffer a whole answer. */
const HIGH_WATER_PARTS = 64;
const NEWLINE = 0x0a;

export interface NdjsonPartsOptions {
  /** The error to report instead of the body's own when the head was lost (`HeadClient`'s probe). */
  lost(): ByzerLLMError | undefined;
  /** Runs once when the parts end, fail, or the consumer stops early (after the body is destroyed). */
  done(): void;
}

/**
 * The parts of an NDJSON body, in order. A line that is not JSON, or a body that fails, ends the
 * parts with an `error` part; so does an `error` line. Empty lines are skipped, and a last line
 * without its newline still counts.
 */
export function readNdjsonParts(
  body: Readable,
  options: NdjsonPartsOptions,
): AsyncIterableIterator<StreamPart> {
  let pending: Buffer | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    body.off('data', onData);
    body.off('end', onEnd);
    body.destroy();
    options.done();
  };
  const parts = new PushIterator<StreamPart>(close, () => {
    if (body.isPaused() && !closed && parts.queued < HIGH_WATER_PARTS / 2) body.resume();
  });
  const stop = (part?: StreamPart) => {
    if (part) parts.push(part);
    parts.end();
    close();
  };
  /** Parses one line; false once the parts have ended. */
  const line = (bytes: Buffer, start: number, end: number): boolean => {
    if (start === end) return true;
    let part: StreamPart;
    try {
      part = decodeStreamPart(reviveBinary(JSON.parse(bytes.toString('utf8', start, end))) as WireStreamPart);
    } catch (error) {
      stop({ type: 'error', error: options.lost() ?? toByzerLLMError(error) });
      return false;
    }
    if (part.type === 'error') {
      stop(part);
      return false;
    }
    parts.push(part);
    return true;
  };
  const onData = (chunk: Buffer | string) => {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (pending) {
      bytes = Buffer.concat([pending, bytes]);
      pending = undefined;
    }
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
      if (!line(bytes, start, newline)) return;
      start = newline + 1;
    }
    if (start < bytes.length) pending = bytes.subarray(start);
    if (parts.queued >= HIGH_WATER_PARTS) body.pause();
  };
  const onEnd = () => {
    if (pending && !line(pending, 0, pending.length)) return;
    stop();
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.on('error', (error) => {
    if (!closed) stop({ type: 'error', error: options.lost() ?? toByzerLLMError(error) });
  });
  return parts;
}
