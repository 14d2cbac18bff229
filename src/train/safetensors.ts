/**
 * The safetensors format, read and written without a dependency (no npm package writes it).
 *
 * A file is an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * `{dtype, shape, data_offsets}` (relative to the end of the header) and an optional
 * `__metadata__` string map, then the raw little-endian data. Nothing in it runs code. byzerllm reads
 * F32, F16 and BF16 into Float32Array (what the GGUF writer takes) and writes F32.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';

export interface Tensor {
  /** Outermost first, as torch and safetensors write it (the reverse of GGUF dimensions). */
  shape: number[];
  data: Float32Array;
}

const headerEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().min(0)),
  data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
});
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Parses a safetensors file image; `source` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, source: string): Map<string, Tensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string) =>
    new InvalidArgumentError(`${source} is not a valid safetensors file: ${what}`);
  if (bytes.length < 8) throw fail('shorter than 8 bytes');
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length)
    throw fail('header length out of range');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      unknown
    >;
  } catch {
    throw fail('header is not JSON');
  }
  const body = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, Tensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const parsed = headerEntrySchema.safeParse(raw);
    if (!parsed.success) throw fail(`tensor ${name} has a malformed header entry`);
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = parsed.data;
    if (begin > end || end > body.length) throw fail(`tensor ${name} lies outside the file`);
    const count = shape.reduce((product, size) => product * size, 1);
    tensors.set(name, { shape, data: decode(body.subarray(begin, end), dtype, count, `${source}: ${name}`) });
  }
  return tensors;
}

function decode(bytes: Uint8Array, dtype: string, count: number, where: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dtype === 'F32' ? 4 : dtype === 'F16' || dtype === 'BF16' ? 2 : 0;
  if (width === 0) throw new InvalidArgumentError(`${where} has dtype ${dtype}; allowed: F32, F16, BF16`);
  if (bytes.length !== count * width)
    throw new InvalidArgumentError(`${where}: shape and byte length disagree`);
  const result = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    if (dtype === 'F32') result[index] = view.getFloat32(index * 4, true);
    else if (dtype === 'BF16') result[index] = bfloat16ToNumber(view.getUint16(index * 2, true));
    else result[index] = float16ToNumber(view.getUint16(index * 2, true));
  }
  return result;
}

const conversion = new DataView(new ArrayBuffer(4));
function bfloat16ToNumber(bits: number): number {
  conversion.setUint32(0, bits << 16);
  return conversion.getFloat32(0);
}

function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export async function readSafetensors(filePath: string): Promise<Map<string, Tensor>> {
  return parseSafetensors(new Uint8Array(await fs.readFile(filePath)), filePath);
}

/** Serialises F32 tensors (sorted by name, header padded to 8 bytes as the reference writer does). */
export function serializeSafetensors(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name)!;
    const count = tensor.shape.reduce((product, size) => product * size, 1);
    if (count !== tensor.data.length) {
      throw new RangeError(`tensor ${name}: shape holds ${count} values, data has ${tensor.data.length}`);
    }
    header[name] = {
      dtype: 'F32',
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.data.byteLength],
    };
    offset += tensor.data.byteLength;
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let encoded = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (encoded.length % 8)) % 8;
  if (padding) encoded = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
  const file = new Uint8Array(8 + encoded.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(encoded.length), true);
  file.set(encoded, 8);
  let position = 8 + encoded.length;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    file.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return file;
}
