/**
 * Loads `@huggingface/transformers` on first use (it pulls in onnxruntime-node, hundreds of MB) and
 * locks it to local files: `allowRemoteModels = false` means a missing file is an error, never a
 * download attempt.
 */
import { UnsupportedError } from '../../core/errors.js';
import { importOptional } from '../../core/optional-packages.js';

export type TransformersLibrary = typeof import('@huggingface/transformers');

let loading: Promise<TransformersLibrary> | undefined;

export function loadTransformers(): Promise<TransformersLibrary> {
  loading ??= importOptional(() => import('@huggingface/transformers'), {
    feature: 'the transformers backend',
    packages: ['@huggingface/transformers'],
  }).then(
    (library) => {
      library.env.allowRemoteModels = false;
      library.env.allowLocalModels = true;
      // Model ids are absolute folder paths; the library joins them onto this prefix.
      library.env.localModelPath = '/';
      return library;
    },
    (error: unknown) => {
      loading = undefined;
      if (error instanceof UnsupportedError) throw error;
      // Installed but broken (onnxruntime-node's native binary did not load): still one clear line.
      throw new UnsupportedError(
        `the transformers backend needs @huggingface/transformers with onnxruntime-node, which failed to load: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    },
  );
  return loading;
}
