/**
 * The tensor types a converted GGUF may use besides F32: F16 and llama.cpp's Q8_0 blocks.
 *
 * The encodings follow ggml's reference code bit for bit (`ggml_fp32_to_fp16` with round to nearest
 * even, `quantize_row_q8_0_ref`), so a file written here holds what llama.cpp's own converter and
 * `llama-quantize` would write for the same weights. As in llama.cpp's converter, only matrices are
 * encoded: 1-D tensors (norms, biases) stay F32, and a matrix whose rows are not a whole number of
 * 32-value blocks falls back from Q8_0 to F16.
 */
import type { GgufEncodedTensor, GgufTensor } from '../engines/llama-cpp/tiny-model/gguf-writer.js';

/** Output tensor types of `byzerllm convert --outtype` (llama.cpp's converter's names). */
export const GGUF_OUTPUT_TYPES = ['f32', 'f16', 'q8_0'] as const;
export type GgufOutputType = (typeof GGUF_OUTPUT_TYPES)[number];

/** ggml's `enum ggml_type` values. */
const GGML_TYPE_F16 = 1;
const GGML_TYPE_Q8_0 = 8;
/** llama.cpp's `enum llama_ftype` values for `general.file_type`. */
const FILE_TYPES: Record<GgufOutputType, number> = { f32: 0, f16: 1, q8_0: 7 };
const Q8_0_BLOCK = 32;
/** Bytes of one Q8_0 block: an f16 scale and 32 signed bytes. */
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export function ggufFileType(type: GgufOutputType): number {
  return FILE_TYPES[type];
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE half-precision bits of `value`, rounded to nearest even (ggml's `fp32_to_fp16`). */
export function float32ToFloat16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift);
  }
  // Carrying out of the mantissa bumps the exponent, which is the correct rounding.
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return remainder > half || (remainder === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The value of half-precision `bits`, for tests and for Q8_0's scale as llama.cpp reads it. */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function encodeFloat16(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.length * 2);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < data.length; index++)
    view.setUint16(index * 2, float32ToFloat16Bits(data[index]!), true);
  return bytes;
}

/** Q8_0: per 32 values, scale d = max|x| / 127 (as f16) and q = round(x / d) as int8. */
export function encodeQ8_0(data: Float32Array): Uint8Array {
  if (data.length % Q8_0_BLOCK !== 0)
    throw new RangeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${data.length}`);
  const blocks = data.length / Q8_0_BLOCK;
  const bytes = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  for (let block = 0; block < blocks; block++) {
    const start = block * Q8_0_BLOCK;
    let largest = 0;
    for (let index = start; index < start + Q8_0_BLOCK; index++)
      largest = Math.max(largest, Math.abs(data[index]!));
    // ggml computes in f32: d and its inverse are rounded to f32 before use.
    const scale = Math.fround(largest / 127);
    const inverse = scale ? Math.fround(1 / scale) : 0;
    const offset = block * Q8_0_BLOCK_BYTES;
    view.setUint16(offset, float32ToFloat16Bits(scale), true);
    for (let index = 0; index < Q8_0_BLOCK; index++) {
      const scaled = Math.fround(data[start + index]! * inverse);
      // roundf: halves away from zero.
      view.setInt8(offset + 2 + index, Math.sign(scaled) * Math.round(Math.abs(scaled)));
    }
  }
  return bytes;
}

/** `tensor` in `type`, following llama.cpp's converter: 1-D tensors stay F32. */
export function encodeGgufTensor(tensor: GgufTensor, type: GgufOutputType): GgufTensor | GgufEncodedTensor {
  const [rowLength = 0, ...rest] = tensor.dimensions;
  if (type === 'f32' || rest.length === 0) return tensor;
  if (type === 'q8_0' && rowLength % Q8_0_BLOCK === 0)
    return {
      name: tensor.name,
      dimensions: tensor.dimensions,
      ggmlType: GGML_TYPE_Q8_0,
      bytes: encodeQ8_0(tensor.data),
    };
  return {
    name: tensor.name,
    dimensions: tensor.dimensions,
    ggmlType: GGML_TYPE_F16,
    bytes: encodeFloat16(tensor.data),
  };
}
