/**
 * The graph of the tiny BERT-style test model: the inputs, outputs and file layout of a real BERT
 * export (what `@huggingface/transformers` feeds and reads), with a much smaller body.
 *
 * Body: word + token-type + position embeddings; one mixing layer where every position sees the
 * masked mean of the sequence (so the [CLS] position depends on the whole text, as attention would
 * make it); tanh; layer norm. The rerank variant adds a classifier over the [CLS] position, like
 * `BertForSequenceClassification` with one label. Weights come from a seeded generator: the same
 * seed writes the same bytes.
 */
import {
  encodeOnnxModel,
  floatTensor,
  int64Tensor,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';

export interface TinyBertGraphOptions {
  /** `embedding` outputs `last_hidden_state`; `rerank` outputs `logits` [batch, 1]. */
  task: 'embedding' | 'rerank';
  vocabSize: number;
  hiddenSize: number;
  maxPositions: number;
  seed: number;
}

/** Opset 17 has `LayerNormalization` as a standard operator. */
const OPSET = 17;

export function buildTinyBertOnnx(options: TinyBertGraphOptions): Uint8Array {
  const random = seededRandom(options.seed);
  const hidden = options.hiddenSize;
  const weights = (name: string, dims: number[], scale: number): OnnxTensor => {
    const count = dims.reduce((product, dimension) => product * dimension, 1);
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = (random() * 2 - 1) * scale;
    return floatTensor(name, dims, values);
  };
  const initializers: OnnxTensor[] = [
    weights('word_embeddings', [options.vocabSize, hidden], 1),
    weights('position_embeddings', [options.maxPositions, hidden], 0.3),
    weights('token_type_embeddings', [2, hidden], 0.3),
    weights('mix_self', [hidden, hidden], 1 / Math.sqrt(hidden)),
    weights('mix_context', [hidden, hidden], 2 / Math.sqrt(hidden)),
    weights('mix_bias', [hidden], 0.1),
    floatTensor('norm_scale', [hidden], new Float32Array(hidden).fill(1)),
    floatTensor('norm_bias', [hidden], new Float32Array(hidden)),
    int64Tensor('zero', [], [0]),
    int64Tensor('one', [], [1]),
    int64Tensor('axis_1', [1], [1]),
    int64Tensor('axis_2', [1], [2]),
  ];
  const node = (opType: string, inputs: string[], output: string, attributes?: OnnxNode['attributes']) =>
    ({ opType, inputs, outputs: [output], ...(attributes ? { attributes } : {}) }) satisfies OnnxNode;
  const hiddenOutput = options.task === 'embedding' ? 'last_hidden_state' : 'hidden_states';
  const nodes: OnnxNode[] = [
    node('Gather', ['word_embeddings', 'input_ids'], 'words'),
    node('Gather', ['token_type_embeddings', 'token_type_ids'], 'types'),
    node('Shape', ['input_ids'], 'ids_shape'),
    node('Gather', ['ids_shape', 'one'], 'sequence_length', [
      { name: 'axis', type: OnnxAttributeType.INT, i: 0 },
    ]),
    node('Range', ['zero', 'sequence_length', 'one'], 'positions'),
    node('Gather', ['position_embeddings', 'positions'], 'placed'),
    node('Add', ['words', 'types'], 'typed_words'),
    node('Add', ['typed_words', 'placed'], 'embedded'),
    node('Unsqueeze', ['attention_mask', 'axis_2'], 'mask_3d'),
    node('Cast', ['mask_3d'], 'mask', [{ name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.FLOAT }]),
    node('Mul', ['embedded', 'mask'], 'masked'),
    node('ReduceSum', ['masked', 'axis_1'], 'summed', [
      { name: 'keepdims', type: OnnxAttributeType.INT, i: 1 },
    ]),
    node('ReduceSum', ['mask', 'axis_1'], 'counted', [
      { name: 'keepdims', type: OnnxAttributeType.INT, i: 1 },
    ]),
    node('Div', ['summed', 'counted'], 'context'),
    node('MatMul', ['embedded', 'mix_self'], 'own_part'),
    node('MatMul', ['context', 'mix_context'], 'context_part'),
    node('Add', ['own_part', 'context_part'], 'mixed'),
    node('Add', ['mixed', 'mix_bias'], 'biased'),
    node('Tanh', ['biased'], 'activated'),
    node('LayerNormalization', ['activated', 'norm_scale', 'norm_bias'], hiddenOutput, [
      { name: 'axis', type: OnnxAttributeType.INT, i: -1 },
      { name: 'epsilon', type: OnnxAttributeType.FLOAT, f: 1e-5 },
    ]),
  ];
  if (options.task === 'rerank') {
    initializers.push(weights('classifier_weight', [hidden, 1], 1 / Math.sqrt(hidden)));
    initializers.push(floatTensor('classifier_bias', [1], [0]));
    nodes.push(
      node('Gather', [hiddenOutput, 'zero'], 'cls_state', [
        { name: 'axis', type: OnnxAttributeType.INT, i: 1 },
      ]),
      node('MatMul', ['cls_state', 'classifier_weight'], 'unbiased_logits'),
      node('Add', ['unbiased_logits', 'classifier_bias'], 'logits'),
    );
  }
  const tokenInput = (name: string) => ({ name, elemType: OnnxDataType.INT64, shape: ['batch', 'sequence'] });
  return encodeOnnxModel(
    {
      name: `tiny_bert_${options.task}`,
      nodes,
      initializers,
      inputs: [tokenInput('input_ids'), tokenInput('attention_mask'), tokenInput('token_type_ids')],
      outputs: [
        options.task === 'embedding'
          ? { name: 'last_hidden_state', elemType: OnnxDataType.FLOAT, shape: ['batch', 'sequence', hidden] }
          : { name: 'logits', elemType: OnnxDataType.FLOAT, shape: ['batch', 1] },
      ],
    },
    OPSET,
  );
}

/** mulberry32: a small, well-known 32-bit generator; deterministic for a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
