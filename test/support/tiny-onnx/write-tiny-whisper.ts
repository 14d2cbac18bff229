/**
 * Writes a tiny Whisper-style speech-to-text model folder that `@huggingface/transformers` loads
 * offline through its real Whisper path (feature extractor, encoder, merged decoder with a key/value
 * cache, Whisper tokenizer and generation config), laid out like a Hugging Face ONNX export.
 *
 * It is not trained: the encoder projects log-mel frames and pools pairs of them (as Whisper's
 * stride-2 convolution does); the decoder scores the next token from the previous token, the loudest
 * encoder features and its position; it may only emit lower-case letters and spaces (so its output
 * is printable) and, where Whisper's timestamp rules force one, timestamp tokens; and it makes
 * end-of-text likelier with every step (so it always stops). One cross-attention head (each new
 * token's state against the encoder positions, an output as in exports made with
 * `output_attentions`) and `alignment_heads` let transformers.js align words to the audio for word
 * timestamps. Different audio gives different text;
 * the same audio gives the same text. The same options write the same bytes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  encodeOnnxModel,
  floatTensor,
  int64Tensor,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';
import { seededRandom } from './tiny-bert-graph.js';

export interface TinyWhisperOptions {
  /** Encoder and decoder width. Defaults to 16. */
  hiddenSize?: number;
  /** Defaults to 5. */
  seed?: number;
  /**
   * Write `alignment_heads` into generation_config.json (what word timestamps need). Defaults to
   * true; false writes a folder like the many exports that lack them.
   */
  alignmentHeads?: boolean;
  /**
   * Added to the space token's score: 3 makes the model "speak" several short words, for word
   * timestamps. Defaults to 0 (spaces are rare).
   */
  spaceScore?: number;
}

export interface TinyWhisperModel {
  folder: string;
  hiddenSize: number;
  vocabularySize: number;
}

const MEL_BINS = 80;
const FRAMES = 3000;
const SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|startoftranscript|>',
  '<|en|>',
  '<|zh|>',
  '<|translate|>',
  '<|transcribe|>',
  // Must be last: Whisper treats every id after <|notimestamps|> as a timestamp.
  '<|notimestamps|>',
] as const;
const OPSET = 17;
/** Longest token sequence, prompt included; generation stops well before it. */
const MAX_TARGET_POSITIONS = 64;
/** Whisper's timestamp tokens: 0.00 s to 30.00 s in 0.02 s steps, right after <|notimestamps|>. */
const TIMESTAMPS = 1501;

export async function writeTinyWhisperModel(
  folder: string,
  options: TinyWhisperOptions = {},
): Promise<TinyWhisperModel> {
  const hidden = options.hiddenSize ?? 16;
  const byteTokens = byteLevelAlphabet();
  const timestampTokens = range(0, TIMESTAMPS).map((step) => `<|${(step * 0.02).toFixed(2)}|>`);
  const vocabularySize = byteTokens.length + SPECIAL_TOKENS.length + timestampTokens.length;
  const timestampBegin = byteTokens.length + SPECIAL_TOKENS.length;
  const idOf = (token: (typeof SPECIAL_TOKENS)[number]) => byteTokens.length + SPECIAL_TOKENS.indexOf(token);
  const random = seededRandom(options.seed ?? 5);
  const weights = (name: string, dims: number[], scale: number): OnnxTensor => {
    const count = dims.reduce((product, dimension) => product * dimension, 1);
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = (random() * 2 - 1) * scale;
    return floatTensor(name, dims, values);
  };

  const encoder = encodeOnnxModel(
    {
      name: 'tiny_whisper_encoder',
      nodes: [
        node('Transpose', ['input_features'], 'frames', [
          { name: 'perm', type: OnnxAttributeType.INTS, ints: [0, 2, 1] },
        ]),
        node('MatMul', ['frames', 'frame_projection'], 'projected'),
        node('Reshape', ['projected', 'pair_shape'], 'paired'),
        node('ReduceMean', ['paired'], 'pooled', [
          { name: 'axes', type: OnnxAttributeType.INTS, ints: [2] },
          { name: 'keepdims', type: OnnxAttributeType.INT, i: 0 },
        ]),
        node('Tanh', ['pooled'], 'last_hidden_state'),
      ],
      initializers: [
        weights('frame_projection', [MEL_BINS, hidden], 1.5 / Math.sqrt(MEL_BINS)),
        // 0 keeps the batch dimension; 3000 frames become 1500 positions of 2 frames.
        int64Tensor('pair_shape', [4], [0, FRAMES / 2, 2, hidden]),
      ],
      inputs: [
        { name: 'input_features', elemType: OnnxDataType.FLOAT, shape: ['batch_size', MEL_BINS, FRAMES] },
      ],
      outputs: [
        {
          name: 'last_hidden_state',
          elemType: OnnxDataType.FLOAT,
          shape: ['batch_size', FRAMES / 2, hidden],
        },
      ],
    },
    OPSET,
  );

  // Only letters, space and end-of-text may be generated; everything else is pushed far down.
  const allowed = new Float32Array(vocabularySize).fill(-1e4);
  for (const byte of [32, ...range(97, 123)]) allowed[byte] = 0;
  allowed[32] = options.spaceScore ?? 0;
  allowed[idOf('<|endoftext|>')] = 0;
  // Timestamps rank below text, so they appear only where Whisper's timestamp rules force one.
  for (let id = timestampBegin; id < vocabularySize; id++) allowed[id] = -50;
  const endOfText = new Float32Array(vocabularySize);
  endOfText[idOf('<|endoftext|>')] = 1;
  const cache = (name: string, length: string) => ({
    name,
    elemType: OnnxDataType.FLOAT,
    shape: ['batch_size', 1, length, hidden],
  });
  const decoder = encodeOnnxModel(
    {
      name: 'tiny_whisper_decoder',
      nodes: [
        node('Gather', ['token_states', 'input_ids'], 'previous_states'),
        node('MatMul', ['previous_states', 'next_projection'], 'from_previous'),
        node('ReduceMax', ['encoder_hidden_states'], 'heard', [
          { name: 'axes', type: OnnxAttributeType.INTS, ints: [1] },
          { name: 'keepdims', type: OnnxAttributeType.INT, i: 1 },
        ]),
        node('MatMul', ['heard', 'audio_projection'], 'from_audio'),
        node('Shape', ['past_key_values.0.decoder.key'], 'past_shape'),
        node('Gather', ['past_shape', 'two'], 'past_length', [
          { name: 'axis', type: OnnxAttributeType.INT, i: 0 },
        ]),
        node('Shape', ['input_ids'], 'ids_shape'),
        node('Gather', ['ids_shape', 'one'], 'ids_length', [
          { name: 'axis', type: OnnxAttributeType.INT, i: 0 },
        ]),
        node('Add', ['past_length', 'ids_length'], 'steps'),
        node('Cast', ['steps'], 'steps_float', [
          { name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.FLOAT },
        ]),
        node('Mul', ['steps_float', 'end_slope'], 'end_push'),
        node('Sub', ['end_push', 'end_offset'], 'end_score'),
        node('Mul', ['end_of_text', 'end_score'], 'end_term'),
        node('Add', ['from_previous', 'from_audio'], 'scored'),
        node('Range', ['past_length', 'steps', 'one'], 'positions'),
        node('Gather', ['position_scores', 'positions'], 'from_position'),
        node('Add', ['scored', 'from_position'], 'placed'),
        node('Add', ['placed', 'end_term'], 'scored_with_end'),
        node('Add', ['scored_with_end', 'allowed'], 'logits'),
        node('Gather', ['token_states', 'input_ids'], 'new_states'),
        node('Unsqueeze', ['new_states', 'axis_1'], 'new_cache'),
        // One cross-attention head: each new token's state against every encoder position. Its
        // weights are the `cross_attentions.0` output that word timestamps align text to audio with
        // (generation_config `alignment_heads` [[0, 0]]).
        node('Transpose', ['encoder_hidden_states'], 'encoder_keys', [
          { name: 'perm', type: OnnxAttributeType.INTS, ints: [0, 2, 1] },
        ]),
        node('MatMul', ['new_states', 'encoder_keys'], 'cross_scores'),
        node('Softmax', ['cross_scores'], 'cross_weights', [
          { name: 'axis', type: OnnxAttributeType.INT, i: -1 },
        ]),
        node('Unsqueeze', ['cross_weights', 'axis_1'], 'cross_attentions.0'),
        node('Concat', ['past_key_values.0.decoder.key', 'new_cache'], 'present.0.decoder.key', [
          { name: 'axis', type: OnnxAttributeType.INT, i: 2 },
        ]),
        node('Concat', ['past_key_values.0.decoder.value', 'new_cache'], 'present.0.decoder.value', [
          { name: 'axis', type: OnnxAttributeType.INT, i: 2 },
        ]),
        node('Unsqueeze', ['encoder_hidden_states', 'axis_1'], 'present.0.encoder.key'),
        node('Identity', ['present.0.encoder.key'], 'present.0.encoder.value'),
      ],
      initializers: [
        weights('next_projection', [hidden, vocabularySize], 1 / Math.sqrt(hidden)),
        weights('position_scores', [MAX_TARGET_POSITIONS, vocabularySize], 1.5),
        weights('audio_projection', [hidden, vocabularySize], 3),
        weights('token_states', [vocabularySize, hidden], 1),
        floatTensor('allowed', [vocabularySize], allowed),
        floatTensor('end_of_text', [vocabularySize], endOfText),
        floatTensor('end_slope', [], [0.6]),
        floatTensor('end_offset', [], [6]),
        int64Tensor('one', [], [1]),
        int64Tensor('two', [], [2]),
        int64Tensor('axis_1', [1], [1]),
      ],
      inputs: [
        { name: 'input_ids', elemType: OnnxDataType.INT64, shape: ['batch_size', 'decoder_sequence_length'] },
        {
          name: 'encoder_hidden_states',
          elemType: OnnxDataType.FLOAT,
          shape: ['batch_size', 'encoder_sequence_length', hidden],
        },
        cache('past_key_values.0.decoder.key', 'past_decoder_sequence_length'),
        cache('past_key_values.0.decoder.value', 'past_decoder_sequence_length'),
        cache('past_key_values.0.encoder.key', 'encoder_sequence_length_out'),
        cache('past_key_values.0.encoder.value', 'encoder_sequence_length_out'),
      ],
      outputs: [
        {
          name: 'logits',
          elemType: OnnxDataType.FLOAT,
          shape: ['batch_size', 'decoder_sequence_length', vocabularySize],
        },
        {
          name: 'cross_attentions.0',
          elemType: OnnxDataType.FLOAT,
          shape: ['batch_size', 1, 'decoder_sequence_length', 'encoder_sequence_length'],
        },
        cache('present.0.decoder.key', 'present_decoder_sequence_length'),
        cache('present.0.decoder.value', 'present_decoder_sequence_length'),
        cache('present.0.encoder.key', 'encoder_sequence_length_out'),
        cache('present.0.encoder.value', 'encoder_sequence_length_out'),
      ],
    },
    OPSET,
  );

  const endOfTextId = idOf('<|endoftext|>');
  const config = {
    architectures: ['WhisperForConditionalGeneration'],
    model_type: 'whisper',
    is_encoder_decoder: true,
    vocab_size: vocabularySize,
    d_model: hidden,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 1,
    decoder_attention_heads: 1,
    encoder_ffn_dim: hidden,
    decoder_ffn_dim: hidden,
    num_mel_bins: MEL_BINS,
    max_source_positions: FRAMES / 2,
    max_target_positions: MAX_TARGET_POSITIONS,
    bos_token_id: endOfTextId,
    eos_token_id: endOfTextId,
    pad_token_id: endOfTextId,
    decoder_start_token_id: idOf('<|startoftranscript|>'),
    median_filter_width: 7,
  };
  const generationConfig = {
    decoder_start_token_id: idOf('<|startoftranscript|>'),
    bos_token_id: endOfTextId,
    eos_token_id: endOfTextId,
    pad_token_id: endOfTextId,
    max_length: 48,
    is_multilingual: true,
    lang_to_id: { '<|en|>': idOf('<|en|>'), '<|zh|>': idOf('<|zh|>') },
    task_to_id: { translate: idOf('<|translate|>'), transcribe: idOf('<|transcribe|>') },
    no_timestamps_token_id: idOf('<|notimestamps|>'),
    begin_suppress_tokens: [32, endOfTextId],
    suppress_tokens: [],
    ...(options.alignmentHeads === false ? {} : { alignment_heads: [[0, 0]] }),
  };
  const preprocessorConfig = {
    feature_extractor_type: 'WhisperFeatureExtractor',
    processor_class: 'WhisperProcessor',
    feature_size: MEL_BINS,
    sampling_rate: 16_000,
    hop_length: 160,
    chunk_length: 30,
    n_fft: 400,
    n_samples: 480_000,
    nb_max_frames: FRAMES,
    padding_side: 'right',
    padding_value: 0,
    return_attention_mask: false,
  };
  const vocabulary: Record<string, number> = {};
  byteTokens.forEach((token, id) => {
    vocabulary[token] = id;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...SPECIAL_TOKENS, ...timestampTokens].map((content, position) => ({
      id: byteTokens.length + position,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: position < SPECIAL_TOKENS.length,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: vocabulary,
      merges: [],
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'WhisperTokenizer',
    model_max_length: 448,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    errors: 'replace',
    add_prefix_space: false,
  };

  await fs.mkdir(path.join(folder, 'onnx'), { recursive: true });
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await Promise.all([
    fs.writeFile(path.join(folder, 'config.json'), json(config)),
    fs.writeFile(path.join(folder, 'generation_config.json'), json(generationConfig)),
    fs.writeFile(path.join(folder, 'preprocessor_config.json'), json(preprocessorConfig)),
    fs.writeFile(path.join(folder, 'tokenizer.json'), json(tokenizer)),
    fs.writeFile(path.join(folder, 'tokenizer_config.json'), json(tokenizerConfig)),
    fs.writeFile(path.join(folder, 'onnx', 'encoder_model.onnx'), encoder),
    fs.writeFile(path.join(folder, 'onnx', 'decoder_model_merged.onnx'), decoder),
  ]);
  return { folder, hiddenSize: hidden, vocabularySize };
}

function node(
  opType: string,
  inputs: string[],
  output: string,
  attributes?: OnnxNode['attributes'],
): OnnxNode {
  return { opType, inputs, outputs: [output], ...(attributes ? { attributes } : {}) };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, index) => start + index);
}

/**
 * GPT-2's byte-level alphabet: token `id` is byte `id`, spelled as the printable character that
 * byte-level BPE tokenizers use for it (printable bytes as themselves, the rest shifted past 255).
 */
function byteLevelAlphabet(): string[] {
  const printable = new Set([...range(33, 127), ...range(161, 173), ...range(174, 256)]);
  let shifted = 0;
  return range(0, 256).map((byte) =>
    printable.has(byte) ? String.fromCharCode(byte) : String.fromCharCode(256 + shifted++),
  );
}
