/**
 * Binary values on JSON wires. Audio bytes (speech results, `audio-delta` parts, transcription
 * requests) travel as `{ $binary: base64 }` wherever the carrier is JSON — admin API bodies, NDJSON
 * stream lines and NATS payloads — in both directions. The IPC channel to worker processes uses
 * structured clone and carries `Uint8Array`s as they are.
 */

/** Replaces every `Uint8Array` inside `value` with `{ $binary: base64 }`. */
export function encodeBinary(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $binary: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encodeBinary);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encodeBinary(inner)]));
  }
  return value;
}

/** The inverse of `encodeBinary`: every object that is exactly `{ $binary: string }` becomes bytes. */
export function reviveBinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveBinary);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$binary === 'string' && Object.keys(record).length === 1) {
      return new Uint8Array(Buffer.from(record.$binary, 'base64'));
    }
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, reviveBinary(inner)]));
  }
  return value;
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
