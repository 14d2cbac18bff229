/**
 * The llama_cpp engine (`--infer_backend llama_cpp`, `--model_path file.gguf`).
 *
 * One engine instance is one worker: it loads the GGUF once and creates one context with
 * `worker_concurrency` sequences, so concurrent requests to the worker decode in parallel. It runs
 * inside a worker process (the process transport): a native crash takes down one worker, not the
 * head. Parameters are described in `llama-cpp-params.ts`.
 */
import fs from 'node:fs/promises';
import { getLlama, type Llama, LlamaLogLevel } from 'node-llama-cpp';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import type { EngineInstance, ModelMeta } from '../../core/models.js';
import { resolveModelChatWrapper } from './chat-wrapper.js';
import { LlamaCppChatModel } from './llama-cpp-chat-model.js';
import { LlamaCppTokenizerModel } from './llama-cpp-tokenizer-model.js';
import { LlamaCppEmbeddingModel } from './llama-cpp-embedding-model.js';
import { contextSizePerSequence, type LlamaCppParams, readLlamaCppParams } from './llama-cpp-params.js';
import { LlamaCppRerankModel } from './llama-cpp-rerank-model.js';
import { SequencePool } from './sequence-pool.js';

let llamaPromise: Promise<Llama> | undefined;
let llamaKey = '';

/** One llama.cpp binding per process (loading it twice wastes memory); GPU use is per process. */
function loadLlama(useGpu: boolean, verbose: boolean): Promise<Llama> {
  const key = `${useGpu}:${verbose}`;
  if (!llamaPromise || llamaKey !== key) {
    llamaKey = key;
    llamaPromise = getLlama({
      gpu: useGpu ? 'auto' : false,
      // Never compile or download at run time: only the prebuilt binaries installed by npm.
      build: 'never',
      logLevel: verbose ? LlamaLogLevel.info : LlamaLogLevel.error,
      // node-llama-cpp's default logger prints info lines with console.info, i.e. to stdout, which in a
      // background head is a pipe nobody reads any more: `verbose=true` killed the worker with EPIPE.
      // Logs are diagnostics: they go to stderr (the head's log file).
      logger: writeLlamaLog,
      progressLogs: false,
    });
  }
  return llamaPromise;
}

function writeLlamaLog(level: LlamaLogLevel, message: string): void {
  if (level === LlamaLogLevel.disabled) return;
  process.stderr.write(`[llama.cpp ${level}] ${message.replace(/\n+$/, '')}\n`);
}

export async function createLlamaCppEngine(context: EngineContext): Promise<EngineInstance> {
  throwIfAborted(context.signal);
  const { spec } = context;
  const params = readLlamaCppParams(spec.inferParams, context.warn);
  await checkModelFile(spec.modelPath);
  for (const loraPath of params.loraPaths) await checkModelFile(loraPath, 'lora');
  const useGpu = params.gpuLayers === undefined ? context.gpuIndices.length > 0 : params.gpuLayers !== 0;
  const llama = await loadLlama(useGpu, params.verbose);
  const model = await llama.loadModel({
    modelPath: spec.modelPath,
    gpuLayers: gpuLayersOption(params, useGpu),
    ...(context.signal ? { loadSignal: context.signal } : {}),
    ...(context.progress ? { onLoadProgress: context.progress } : {}),
  });
  try {
    // Once per loaded model: resolving a GGUF's Jinja template costs about a second (chat-wrapper.ts).
    const chatWrapper = resolveModelChatWrapper(params.template, model);
    const sequenceCount = spec.workerConcurrency;
    const llamaContext = await model.createContext({
      sequences: sequenceCount,
      contextSize: contextSizePerSequence(params, sequenceCount, model.trainContextSize),
      threads: params.threads,
      ...(params.loraPaths.length
        ? { lora: { adapters: params.loraPaths.map((filePath) => ({ filePath, scale: params.loraScale })) } }
        : {}),
    });
    const metadata = model.fileInfo.metadata as { general?: { architecture?: string; name?: string } };
    const modelName = metadata.general?.name ?? spec.name;
    const chat = new LlamaCppChatModel({
      modelId: modelName,
      llama,
      sequences: new SequencePool(llamaContext),
      chatWrapper,
      defaultMaxTokens: params.maxTokens ?? Math.max(16, Math.floor(llamaContext.contextSize / 2)),
      streamIntervalMs: params.streamIntervalMs,
    });
    const embedding = new LlamaCppEmbeddingModel(modelName, model, params);
    const tokenizer = new LlamaCppTokenizerModel(modelName, model, chatWrapper);
    const rerank = model.fileInsights.supportsRanking
      ? new LlamaCppRerankModel(modelName, model, params.threads)
      : undefined;
    const meta: ModelMeta = {
      model_deploy_type: 'proprietary',
      backend: 'llama_cpp',
      model_name: modelName,
      support_stream: true,
      support_chat_template: true,
      // JSON-schema response formats become a llama.cpp grammar: the output is valid by construction.
      support_response_format: true,
      message_format: true,
      support_assistant_prefix: false,
      embedding_mode: false,
      max_model_len: llamaContext.contextSize,
      architectures: metadata.general?.architecture ? [metadata.general.architecture] : [],
      embedding_dimension: model.embeddingVectorSize,
      tasks: rerank ? ['chat', 'embedding', 'rerank'] : ['chat', 'embedding'],
      model_path: spec.modelPath,
      train_context_size: model.trainContextSize,
      parallel_sequences: sequenceCount,
      gpu_layers: model.gpuLayers,
      chat_template: chatWrapper.wrapperName,
    };
    return {
      meta,
      chat,
      embedding,
      tokenizer,
      ...(rerank ? { rerank } : {}),
      async dispose() {
        await embedding.dispose();
        await rerank?.dispose();
        await llamaContext.dispose();
        await model.dispose();
      },
    };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

function gpuLayersOption(params: LlamaCppParams, useGpu: boolean): number | 'max' {
  if (!useGpu) return 0;
  if (params.gpuLayers === undefined || params.gpuLayers === -1) return 'max';
  return params.gpuLayers;
}

async function checkModelFile(filePath: string, what = 'model_path'): Promise<void> {
  if (filePath.trim() === '') {
    throw new InvalidArgumentError('the llama_cpp backend needs --model_path pointing at a .gguf file');
  }
  const stat = await fs.stat(filePath).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new InvalidArgumentError(
      `${what} ${filePath} is not a readable file; the llama_cpp backend loads one .gguf file`,
    );
  }
}
