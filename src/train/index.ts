/**
 * The training layer: pretraining and finetuning jobs on PyTorch (python/byzerllm_train), data
 * preparation, and conversion of the results to GGUF so llama_cpp serves them. See docs/training.md.
 */
export * from './convert-to-gguf.js';
export * from './data-formats.js';
export * from './deepspeed-config.js';
export * from './follow-job.js';
export * from './gguf-encoding.js';
export * from './hf-model.js';
export {
  ACTIVE_STATUSES,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  jobDirectory,
  type ProgressEvent,
} from './job-store.js';
export * from './model-tools.js';
export * from './plot-png.js';
export { checkTorchRuntime, TORCH_INSTALL_HINT, type TorchRuntime } from './python-runtime.js';
export * from './safetensors.js';
export * from './tiny-hf-model.js';
export * from './training-jobs.js';
export * from './training-options.js';
export * from './byzer-sql-params.js';
