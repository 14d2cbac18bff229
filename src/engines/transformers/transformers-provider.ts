/**
 * The engine factory for `--infer_backend transformers`: `@huggingface/transformers` on
 * onnxruntime-node, loading ONNX models from a local folder (`--model_path`), never the network.
 *
 * - `custom/auto` — chat with a decoder-only ONNX export (`onnx/model.onnx` with a key/value cache)
 *   and the chat template of its `tokenizer_config.json`.
 * - `custom/bge` — embeddings (feature extraction, CLS pooling, normalised).
 * - `custom/m3e` — embeddings the way M3E's sentence-transformers config makes them (mean pooling).
 * - `custom/bge_rerank` — reranking with a cross-encoder.
 * - `custom/whisper` — speech-to-text from WAV audio.
 * Parameters: see transformers-params.ts. The library is imported on the first deploy only.
 */
import path from 'node:path';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { EngineInstance, ModelMeta } from '../../core/models.js';
import { loadTransformers } from './load-library.js';
import { TransformersChatModel } from './transformers-chat-model.js';
import { TransformersEmbeddingModel } from './transformers-embedding-model.js';
import {
  readModelFolder,
  readTransformersParams,
  TRANSFORMERS_MODEL_TYPES,
  type TransformersModelType,
} from './transformers-params.js';
import { TransformersRerankModel } from './transformers-rerank-model.js';
import { TransformersTranscriptionModel } from './transformers-transcription-model.js';

export async function createTransformersEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const modelType = transformersModelType(context.spec.pretrainedModelType);
  const params = readTransformersParams(context.spec.inferParams, context.warn, modelType);
  const folder = await readModelFolder(context.spec.modelPath, modelType, params.dtype);
  const library = await loadTransformers();
  throwIfAborted(context.signal);
  const modelId = path.basename(folder.folder);
  const meta: ModelMeta = {
    model_deploy_type: 'proprietary',
    backend: 'transformers',
    model_name: modelId,
    support_stream: false,
    support_chat_template: false,
    message_format: false,
    support_assistant_prefix: false,
    embedding_mode: modelType !== 'custom/whisper',
    architectures: folder.architectures,
    ...(folder.maxModelLength !== undefined ? { max_model_len: folder.maxModelLength } : {}),
    tasks: [],
  };
  if (modelType === 'custom/auto') {
    const chat = await TransformersChatModel.load(library, {
      modelId,
      folder: folder.folder,
      params,
      contextLength: folder.maxModelLength ?? 2048,
    });
    return {
      meta: {
        ...meta,
        support_stream: true,
        support_chat_template: true,
        message_format: true,
        support_assistant_prefix: true,
        embedding_mode: false,
        support_tools: false,
        support_response_format: false,
        tasks: ['chat'],
      },
      chat,
      tokenizer: chat,
      dispose: () => chat.dispose(),
    };
  }
  if (modelType === 'custom/bge' || modelType === 'custom/m3e') {
    const embedding = await TransformersEmbeddingModel.load(library, modelId, folder.folder, params);
    return {
      meta: { ...meta, tasks: ['embedding'], embedding_dimension: embedding.dimension },
      embedding,
      dispose: () => embedding.dispose(),
    };
  }
  if (modelType === 'custom/bge_rerank') {
    const rerank = await TransformersRerankModel.load(library, modelId, folder.folder, params);
    return { meta: { ...meta, tasks: ['rerank'] }, rerank, dispose: () => rerank.dispose() };
  }
  const transcription = await TransformersTranscriptionModel.load(library, modelId, folder.folder, params);
  return {
    meta: { ...meta, tasks: ['transcription'] },
    transcription,
    dispose: () => transcription.dispose(),
  };
}

function transformersModelType(value: string): TransformersModelType {
  const modelType = value.includes('/') ? value.trim() : `custom/${value.trim()}`;
  const known = TRANSFORMERS_MODEL_TYPES as readonly string[];
  if (!known.includes(modelType)) {
    throw new InvalidArgumentError(
      `the transformers backend serves ${TRANSFORMERS_MODEL_TYPES.join(', ')}; got pretrained_model_type "${value}"`,
    );
  }
  return modelType as TransformersModelType;
}
