/**
 * A minimal GGUF v3 writer: metadata key/values, F32 tensors, and tensors already encoded in another
 * ggml type (F16, Q8_0, … — the caller owns the encoding), nothing else.
 *
 * No npm package writes GGUF tensors (`@huggingface/gguf` only parses), and the project needs
 * model files it builds itself because nothing can be downloaded here. The layout follows the GGUF
 * spec: header (magic, version, counts), metadata, tensor infos, padding to `general.alignment`
 * (32), then each tensor's data at an aligned offset. Dimensions are written innermost first
 * (`ne0` = row length), as ggml expects.
 */

/** A metadata value. Numbers become UINT32 / FLOAT32 unless wrapped to say otherwise. */
export type GgufValue =
  | string
  | boolean
  | number
  | { type: 'float32' | 'uint32' | 'int32'; value: number }
  | { type: 'array-string'; values: string[] }
  | { type: 'array-float32'; values: number[] }
  | { type: 'array-int32'; values: number[] };

export interface GgufTensor {
  name: string;
  /** Innermost (row length) first. */
  dimensions: number[];
  data: Float32Array;
}

const ALIGNMENT = 32;
const TYPE = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
} as const;
/**
 * A tensor whose bytes are already in a ggml type (`ggmlType` is ggml's enum value: 1 F16, 8 Q8_0,
 * …). The writer checks nothing about the bytes but places them aligned like any other tensor.
 */
export interface GgufEncodedTensor {
  name: string;
  /** Innermost (row length) first. */
  dimensions: number[];
  ggmlType: number;
  bytes: Uint8Array;
}

const GGML_TYPE_F32 = 0;

function tensorBytes(tensor: GgufTensor | GgufEncodedTensor): Uint8Array {
  if ('bytes' in tensor) return tensor.bytes;
  const elements = tensor.dimensions.reduce((product, size) => product * size, 1);
  if (elements !== tensor.data.length) {
    throw new RangeError(
      `tensor ${tensor.name}: dimensions hold ${elements} values, data has ${tensor.data.length}`,
    );
  }
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/** Serialises metadata and tensors (F32, or already encoded) into one GGUF v3 file image. */
export function writeGguf(
  metadata: Record<string, GgufValue>,
  tensors: Array<GgufTensor | GgufEncodedTensor>,
): Uint8Array {
  const header = new ByteWriter();
  header.bytes(new TextEncoder().encode('GGUF'));
  header.uint32(3);
  header.uint64(tensors.length);
  header.uint64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    header.string(key);
    writeValue(header, key, value);
  }
  let offset = 0;
  const contents = tensors.map(tensorBytes);
  for (const [index, tensor] of tensors.entries()) {
    header.string(tensor.name);
    header.uint32(tensor.dimensions.length);
    for (const size of tensor.dimensions) header.uint64(size);
    header.uint32('bytes' in tensor ? tensor.ggmlType : GGML_TYPE_F32);
    header.uint64(offset);
    offset = align(offset + contents[index]!.byteLength);
  }
  const headerBytes = header.finish();
  const dataStart = align(headerBytes.length);
  const file = new Uint8Array(dataStart + offset);
  file.set(headerBytes, 0);
  let position = dataStart;
  for (const bytes of contents) {
    file.set(bytes, position);
    position = align(position + bytes.byteLength);
  }
  return file;
}

function writeValue(writer: ByteWriter, key: string, value: GgufValue): void {
  if (typeof value === 'string') {
    writer.uint32(TYPE.string);
    writer.string(value);
  } else if (typeof value === 'boolean') {
    writer.uint32(TYPE.bool);
    writer.uint8(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) {
      writer.uint32(TYPE.uint32);
      writer.uint32(value);
    } else {
      writer.uint32(TYPE.float32);
      writer.float32(value);
    }
  } else if (
    value.type === 'array-string' ||
    value.type === 'array-float32' ||
    value.type === 'array-int32'
  ) {
    writer.uint32(TYPE.array);
    const elementType =
      value.type === 'array-string'
        ? TYPE.string
        : value.type === 'array-float32'
          ? TYPE.float32
          : TYPE.int32;
    writer.uint32(elementType);
    writer.uint64(value.values.length);
    for (const element of value.values) {
      if (typeof element === 'string') writer.string(element);
      else if (elementType === TYPE.float32) writer.float32(element);
      else writer.int32(element);
    }
  } else if (value.type === 'float32') {
    writer.uint32(TYPE.float32);
    writer.float32(value.value);
  } else if (value.type === 'uint32') {
    writer.uint32(TYPE.uint32);
    writer.uint32(value.value);
  } else if (value.type === 'int32') {
    writer.uint32(TYPE.int32);
    writer.int32(value.value);
  } else {
    throw new TypeError(`metadata ${key}: unsupported value`);
  }
}

function align(offset: number): number {
  return Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buffer = new Uint8Array(4096);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + size));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  uint8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }

  uint32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  int32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
  }

  float32(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  uint64(value: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.uint64(encoded.length);
    this.bytes(encoded);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
