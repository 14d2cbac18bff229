/**
 * `byzerllm merge` (LoRA adapter into its base model) and `byzerllm convert` (to GGUF for llama_cpp).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/index.js';
import {
  convertToGguf,
  GGUF_OUTPUT_TYPES,
  type GgufOutputType,
  mergeLoraAdapter,
} from '../../train/index.js';

const OUTTYPE_HELP = `tensor type of the GGUF's matrices: ${GGUF_OUTPUT_TYPES.join(', ')} (default f32, exact)`;

function parseOuttype(value: string | undefined): GgufOutputType | undefined {
  if (value === undefined) return undefined;
  const type = GGUF_OUTPUT_TYPES.find((allowed) => allowed === value.toLowerCase());
  if (!type)
    throw new InvalidArgumentError(
      `--outtype ${value} is not supported; allowed: ${GGUF_OUTPUT_TYPES.join(', ')}`,
    );
  return type;
}

interface MergeFlags {
  model_path?: string;
  adapter?: string;
  output?: string;
  gguf: boolean;
  outtype?: string;
}

interface ConvertFlags {
  model_path?: string;
  adapter?: string;
  output?: string;
  outtype?: string;
}

export function registerModelTools(program: Command): void {
  program
    .command('merge')
    .description('merge a LoRA adapter into its base model: a Hugging Face folder plus model.gguf')
    .option('--model_path <dir>', 'the base model (Hugging Face folder) (required)')
    .option(
      '--adapter <dir>',
      'the adapter folder (adapter_config.json, adapter_model.safetensors) (required)',
    )
    .option('--output <dir>', "the merged model's folder (required)")
    .option('--no-gguf', 'skip writing <output>/model.gguf')
    .option('--outtype <type>', OUTTYPE_HELP)
    .action(async (flags: MergeFlags) => {
      if (!flags.model_path || !flags.adapter || !flags.output) {
        throw new InvalidArgumentError('merge needs --model_path, --adapter and --output');
      }
      const outtype = parseOuttype(flags.outtype);
      const result = await mergeLoraAdapter({
        modelPath: flags.model_path,
        adapterPath: flags.adapter,
        output: flags.output,
        gguf: flags.gguf,
        ...(outtype ? { outtype } : {}),
      });
      process.stdout.write(`merged into ${result.huggingFace}${result.gguf ? ` and ${result.gguf}` : ''}\n`);
    });
  program
    .command('convert')
    .description(
      'convert a Hugging Face model folder (or a LoRA adapter with --adapter) to GGUF for llama_cpp',
    )
    .option('--model_path <dir>', "the model folder, or the adapter's base model (required)")
    .option('--adapter <dir>', 'convert this LoRA adapter to a llama.cpp adapter GGUF instead')
    .option('--output <file.gguf>', 'the GGUF file to write (required)')
    .option('--outtype <type>', `${OUTTYPE_HELP}; adapters are always f32`)
    .action(async (flags: ConvertFlags) => {
      if (!flags.model_path || !flags.output)
        throw new InvalidArgumentError('convert needs --model_path and --output');
      const outtype = parseOuttype(flags.outtype);
      if (flags.adapter && outtype && outtype !== 'f32')
        throw new InvalidArgumentError(`--outtype ${outtype} applies to models; adapters are written in f32`);
      const written = await convertToGguf({
        modelPath: flags.model_path,
        output: flags.output,
        ...(flags.adapter ? { adapterPath: flags.adapter } : {}),
        ...(outtype ? { outtype } : {}),
      });
      process.stdout.write(`wrote ${written}\n`);
    });
}
