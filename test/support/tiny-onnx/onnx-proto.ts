/**
 * Just enough of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) to write a
 * model: the message and field numbers below are the official ones, so any ONNX runtime reads the
 * result. Weights go in `raw_data` as little-endian bytes, which is what exporters write too.
 */
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5;
  repeated float floats = 7; repeated int64 ints = 8; int32 type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4;
  repeated AttributeProto attribute = 5; string domain = 7;
}
message TensorShapeProto {
  message Dimension { int64 dim_value = 1; string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}
message TensorProto {
  repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9;
}
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; string producer_version = 3;
  int64 model_version = 5; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8;
}
`;

/** `TensorProto.DataType` values used here. */
export const OnnxDataType = { FLOAT: 1, INT64: 7 } as const;
/** `AttributeProto.AttributeType` values used here. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, TENSOR: 4, INTS: 7 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
  t?: OnnxTensor;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
}

/** A graph input or output: element type and shape, where a string is a symbolic dimension. */
export interface OnnxValueInfo {
  name: string;
  elemType: number;
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

let modelType: protobuf.Type | undefined;

function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Serialises a graph as an ONNX model for the default domain at `opsetVersion`. */
export function encodeOnnxModel(graph: OnnxGraph, opsetVersion: number): Uint8Array {
  const type = onnxModelType();
  const message = type.fromObject({
    // IR version 8 goes with opsets up to 17.
    ir_version: 8,
    producer_name: 'byzerllm',
    producer_version: '1',
    model_version: 1,
    opset_import: [{ domain: '', version: opsetVersion }],
    graph: {
      name: graph.name,
      node: graph.nodes.map((node, index) => ({
        name: `${node.opType.toLowerCase()}_${index}`,
        op_type: node.opType,
        input: node.inputs,
        output: node.outputs,
        attribute: (node.attributes ?? []).map(encodeAttribute),
      })),
      initializer: graph.initializers.map(encodeTensor),
      input: graph.inputs.map(encodeValueInfo),
      output: graph.outputs.map(encodeValueInfo),
    },
  });
  return type.encode(message).finish();
}

function encodeTensor(tensor: OnnxTensor): Record<string, unknown> {
  return { name: tensor.name, dims: tensor.dims, data_type: tensor.dataType, raw_data: tensor.rawData };
}

function encodeAttribute(attribute: OnnxAttribute): Record<string, unknown> {
  const encoded: Record<string, unknown> = { name: attribute.name, type: attribute.type };
  if (attribute.f !== undefined) encoded.f = attribute.f;
  if (attribute.i !== undefined) encoded.i = attribute.i;
  if (attribute.ints !== undefined) encoded.ints = attribute.ints;
  if (attribute.t !== undefined) encoded.t = encodeTensor(attribute.t);
  return encoded;
}

function encodeValueInfo(info: OnnxValueInfo): Record<string, unknown> {
  return {
    name: info.name,
    type: {
      tensor_type: {
        elem_type: info.elemType,
        shape: {
          dim: info.shape.map((dimension) =>
            typeof dimension === 'number' ? { dim_value: dimension } : { dim_param: dimension },
          ),
        },
      },
    },
  };
}

/** Float32 values as the little-endian bytes of `raw_data`. */
export function floatTensor(name: string, dims: number[], values: Float32Array | number[]): OnnxTensor {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { name, dims, dataType: OnnxDataType.FLOAT, rawData: littleEndianBytes(data) };
}

/** Int64 values as the little-endian bytes of `raw_data`. */
export function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensor {
  const data = BigInt64Array.from(values.map((value) => BigInt(value)));
  return { name, dims, dataType: OnnxDataType.INT64, rawData: littleEndianBytes(data) };
}

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  const width = data.BYTES_PER_ELEMENT;
  for (let index = 0; index < data.length; index++) {
    if (data instanceof Float32Array) view.setFloat32(index * width, data[index] as number, true);
    else view.setBigInt64(index * width, data[index] as bigint, true);
  }
  return bytes;
}
