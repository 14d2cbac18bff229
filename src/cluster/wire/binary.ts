/**
 * Binary values on JSON wires. Audio bytes (speech results, `audio-delta` parts, transcription
 * requests) travel as `{ $binary: base64 }` wherever the carrier is JSON — admin API bodies, NDJSON
 * stream lines and NATS payloads — in both directions. The IPC channel to worker processes uses
 * structured clone and carries `Uint8Array`s as they are.
 */

/**
 * Replaces every `Uint8Array` inside `value` with `{ $binary: base64 }`. A value without one (every
 * text part of a stream) is returned as it is, not copied: callers only serialise the result.
 */
export function encodeBinary(value: unknown): unknown {
  return someInside(value, isBinary) ? encodeCopy(value) : value;
}

function encodeCopy(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $binary: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encodeCopy);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encodeCopy(inner)]));
  }
  return value;
}

/**
 * The inverse of `encodeBinary`: every object that is exactly `{ $binary: string }` becomes bytes. A
 * value without one is returned as it is (callers pass freshly parsed JSON).
 */
export function reviveBinary(value: unknown): unknown {
  return someInside(value, isEncodedBinary) ? reviveCopy(value) : value;
}

function reviveCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveCopy);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (isEncodedBinary(record)) return new Uint8Array(Buffer.from(record.$binary as string, 'base64'));
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, reviveCopy(inner)]));
  }
  return value;
}

function isBinary(value: object): boolean {
  return value instanceof Uint8Array;
}

function isEncodedBinary(value: object): boolean {
  const record = value as Record<string, unknown>;
  return typeof record.$binary === 'string' && Object.keys(record).length === 1;
}

/** Whether `test` holds for `value` or an object or array anywhere inside it; allocates nothing. */
function someInside(value: unknown, test: (value: object) => boolean): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (test(value)) return true;
  if (Array.isArray(value)) {
    for (const inner of value) if (someInside(inner, test)) return true;
    return false;
  }
  if (value instanceof Uint8Array) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) if (Object.hasOwn(record, key) && someInside(record[key], test)) return true;
  return false;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON bytes of a value, binary values encoded (NATS payloads). */
export function encodeJsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(encodeBinary(value)));
}

/** The value `encodeJsonBytes` wrote; throws on bytes that are not JSON (callers parse with zod after). */
export function decodeJsonBytes(data: Uint8Array): unknown {
  return reviveBinary(JSON.parse(decoder.decode(data)));
}
