#!/usr/bin/env node
/**
 * `easy-byzerllm`: deploy a well-known SaaS model with just a token, then chat with it.
 * A thin front for `byzerllm`: it builds a `byzerllm` argument list and runs the same program.
 */
import { Command, CommanderError } from 'commander';
import { InvalidArgumentError, PACKAGE_VERSION } from '../core/index.js';
import { parseInferParams } from './arguments.js';
import { EASY_MODELS, instanceNameFor } from './easy-models.js';
import { reportError } from './exit-codes.js';
import { addDashedAliases } from './options.js';
import { main } from './program.js';

/** Written literally in `--infer_params` (Byzer-LLM's placeholder), replaced by `--token`. */
const TOKEN_PLACEHOLDER = '$' + '{MODEL_TOKEN}';

function program(run: (argv: string[]) => Promise<number>): Command {
  const easy = new Command('easy-byzerllm')
    .description(
      'deploy a well-known SaaS model with just its token; see `byzerllm deploy` for everything else',
    )
    .version(PACKAGE_VERSION)
    .option('-q, --quiet', 'no "Command Line Arguments" banner and no progress notes on stderr', false)
    .exitOverride();
  // The byzerllm argument list starts with --quiet when easy-byzerllm was given it.
  const byzerllm = (argv: string[]) => run(easy.opts().quiet === true ? ['--quiet', ...argv] : argv);
  easy
    .command('deploy <model>')
    .description(`deploy a known model; known: ${Object.keys(EASY_MODELS).join(', ')}`)
    .requiredOption('--token <token>', 'the provider API key; env:VAR or - (stdin) keeps it out of `ps`')
    .option('--alias <name>', 'the deployment name (default: the model name)')
    .option('--base_url <url>', "override the provider's base URL")
    .option(
      '--infer_params <params>',
      `replace the built-in parameters ("k=v k=v"; ${TOKEN_PLACEHOLDER} is the token)`,
    )
    .option('--address <address>', 'the cluster (default auto)')
    .option('--ray_address <address>', 'same as --address')
    .action(async (model: string, flags: Record<string, string | undefined>) => {
      const known = EASY_MODELS[model];
      if (!known) {
        throw new InvalidArgumentError(
          `unknown model ${JSON.stringify(model)}; known: ${Object.keys(EASY_MODELS).join(', ')}; ` +
            'for any other model use `byzerllm deploy --pretrained_model_type saas/openai --infer_params saas.base_url=… saas.model=…`',
        );
      }
      const params = flags.infer_params
        ? parseInferParams(flags.infer_params.replaceAll(TOKEN_PLACEHOLDER, flags.token ?? ''))
        : {
            'saas.api_key': flags.token ?? '',
            'saas.model': known.model,
            ...(known.baseUrl ? { 'saas.base_url': known.baseUrl } : {}),
          };
      if (flags.base_url) params['saas.base_url'] = flags.base_url;
      const argv = [
        'deploy',
        '--model',
        flags.alias ?? instanceNameFor(model),
        '--pretrained_model_type',
        known.pretrainedModelType,
        '--cpus_per_worker',
        '0.001',
        '--gpus_per_worker',
        '0',
        '--num_workers',
        '1',
        '--worker_concurrency',
        '1000',
        '--address',
        flags.address ?? flags.ray_address ?? 'auto',
        '--infer_params',
        ...Object.entries(params).map(([key, value]) => `${key}=${value}`),
      ];
      process.exitCode = await byzerllm(argv);
    });
  easy
    .command('chat <model> <query>')
    .description('ask a deployed model one question')
    .option('--address <address>', 'the cluster (default auto)')
    .option('--ray_address <address>', 'same as --address')
    .action(async (model: string, query: string, flags: Record<string, string | undefined>) => {
      process.exitCode = await byzerllm([
        'query',
        '--model',
        instanceNameFor(model),
        '--query',
        query,
        '--template',
        'auto',
        '--address',
        flags.address ?? flags.ray_address ?? 'auto',
      ]);
    });
  easy
    .command('undeploy <model>')
    .description('remove a deployment made with easy-byzerllm deploy')
    .option('--force', 'do not wait for in-flight requests')
    .option('--address <address>', 'the cluster (default auto)')
    .option('--ray_address <address>', 'same as --address')
    .action(async (model: string, flags: Record<string, string | boolean | undefined>) => {
      const argv = [
        'undeploy',
        '--model',
        instanceNameFor(model),
        '--address',
        String(flags.address ?? flags.ray_address ?? 'auto'),
      ];
      if (flags.force) argv.push('--force');
      process.exitCode = await byzerllm(argv);
    });
  for (const command of easy.commands) command.exitOverride();
  addDashedAliases(easy);
  return easy;
}

program(main)
  .parseAsync(process.argv.slice(2), { from: 'user' })
  .catch((error: unknown) => {
    if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
    else process.exitCode = reportError(error);
  });
