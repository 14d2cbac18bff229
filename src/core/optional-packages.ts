/**
 * The heavy packages a light install of byzerllm leaves out, and the one way they are loaded.
 *
 * `npm install byzerllm` gives the client, the CLI, the cluster and the gateway. The local engines
 * (node-llama-cpp, @huggingface/transformers with onnxruntime-node), the AWS SDK for Bedrock,
 * DuckDB for `byzerllm sql` and LanceDB for storage are optional peer dependencies: npm installs
 * them only when the consumer asks (so onnxruntime-node's download-at-install never runs for a
 * client), and byzerllm imports each on first use. A missing one fails that use with one line that
 * names what to install; nothing else breaks.
 */
import { UnsupportedError } from './errors.js';

/**
 * Optional packages and the versions byzerllm is built and tested with (the `peerDependencies` of
 * package.json; a test keeps the two equal).
 */
export const OPTIONAL_PACKAGES = {
  'node-llama-cpp': '3.22.1',
  '@huggingface/transformers': '4.3.1',
  '@aws-sdk/client-bedrock-runtime': '3.1162.0',
  '@smithy/node-http-handler': '4.14.2',
  '@duckdb/node-api': '1.5.6-r.1',
  '@lancedb/lancedb': '0.31.0',
  'apache-arrow': '18.1.0',
} as const;

export type OptionalPackageName = keyof typeof OPTIONAL_PACKAGES;

/** The `npm install …` line for the given optional packages. */
export function installCommand(packages: readonly OptionalPackageName[]): string {
  return `npm install ${packages.map((name) => `${name}@${OPTIONAL_PACKAGES[name]}`).join(' ')}`;
}

/**
 * Runs `load` (a dynamic `import()` of an optional package, or of a module that imports one).
 * When it fails because one of `packages` is not installed, throws an `UnsupportedError` saying
 * that `feature` needs them and the command that installs them; any other failure is rethrown as it
 * is (a package that is installed but broken should say so itself).
 */
export async function importOptional<Module>(
  load: () => Promise<Module>,
  options: { feature: string; packages: readonly OptionalPackageName[] },
): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    const missing = options.packages.filter((name) => isMissingPackage(error, name));
    if (missing.length === 0) throw error;
    throw new UnsupportedError(
      `${options.feature} needs the optional package${options.packages.length > 1 ? 's' : ''} ${options.packages.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed: ${installCommand(options.packages)}`,
      { cause: error },
    );
  }
}

/** Node's resolution error for a package (not a file inside one that is installed). */
function isMissingPackage(error: unknown, name: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return error.message.includes(`'${name}'`) || error.message.includes(`"${name}"`);
}
