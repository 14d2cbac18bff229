/**
 * `byzerllm keys create|list|revoke` and `byzerllm limits set|list|rm`: the gateway's virtual keys
 * (bearer keys with their own models, budget, rate limits and expiry; the key is printed once, at
 * create, and stored hashed) and rpm/tpm limits per deployment or route name. Both live on the head
 * (`keys.json` in its state directory), which counts every gateway's requests.
 */
import type { Command } from 'commander';
import { HeadClient, type KeySettings, type KeyView, type RateLimits } from '../../cluster/index.js';
import { InvalidArgumentError, UnsupportedError } from '../../core/index.js';
import { connect } from '../connect.js';
import { parseNonNegativeNumber, parsePositiveInteger } from '../options.js';
import { formatTable, printJsonOrEmpty } from '../table-output.js';
import { withAddress } from './route.js';

interface KeyFlags {
  address?: string;
  name?: string;
  models?: string;
  budget?: number;
  budget_seconds?: number;
  rpm?: number;
  tpm?: number;
  expires?: string;
  json?: boolean;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `30d`, `12h`, `45m`, `90s` or plain seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match || Number(match[1]) === 0) {
    throw new InvalidArgumentError(
      `--expires ${JSON.stringify(value)}: give a duration such as 30d, 12h, 45m or 90s`,
    );
  }
  return Number(match[1]) * DURATION_UNITS[match[2] || 's']!;
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('virtual API keys of the gateway: models, budget, rpm/tpm limits, expiry, spend');
  withAddress(
    keys
      .command('create')
      .description('create a key and print it (once: only its hash is stored)')
      .option('--name <name>', 'a label shown by keys list')
      .option('--models <names>', 'deployments or routes the key may call, comma separated (default: any)')
      .option(
        '--budget <money>',
        'what the key may spend, in the currency of gateway.price_*',
        parseNonNegativeNumber,
      )
      .option(
        '--budget_seconds <seconds>',
        'busy seconds the key may use on local workers (CPU-seconds, or GPU-seconds on GPU workers)',
        parseNonNegativeNumber,
      )
      .option('--rpm <n>', 'requests per minute', parsePositiveInteger)
      .option('--tpm <n>', 'tokens per minute', parsePositiveInteger)
      .option('--expires <duration>', 'lifetime: 30d, 12h, 45m, 90s'),
  ).action(async (flags: KeyFlags) => {
    const settings: KeySettings = {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.models !== undefined
        ? {
            models: flags.models
              .split(',')
              .map((model) => model.trim())
              .filter(Boolean),
          }
        : {}),
      ...(flags.budget !== undefined ? { budget: flags.budget } : {}),
      ...(flags.budget_seconds !== undefined ? { budgetSeconds: flags.budget_seconds } : {}),
      ...(flags.rpm !== undefined ? { rpm: flags.rpm } : {}),
      ...(flags.tpm !== undefined ? { tpm: flags.tpm } : {}),
      ...(flags.expires !== undefined ? { expiresInSeconds: parseDuration(flags.expires) } : {}),
    };
    await withHead(flags, async (head) => {
      const { key, view } = await head.keys.create(settings);
      process.stdout.write(`${key}\n`);
      process.stderr.write(`key ${view.prefix} created; this is the only time it is shown\n`);
    });
  });
  withAddress(
    keys
      .command('list')
      .description('list keys: prefix, models, budget, spend, expiry')
      .option('--json', 'print JSON'),
  ).action(async (flags: KeyFlags) =>
    withHead(flags, async (head) => {
      const listed = await head.keys.list();
      if (printJsonOrEmpty(listed, flags.json, 'no virtual keys')) return;
      process.stdout.write(formatTable(KEY_COLUMNS, listed.map(keyRow)));
    }),
  );
  withAddress(
    keys
      .command('show <prefix>')
      .description('one key as JSON: settings and spend (money, tokens, CPU- and GPU-seconds)'),
  ).action(async (prefix: string, flags: KeyFlags) =>
    withHead(flags, async (head) => {
      process.stdout.write(`${JSON.stringify(await head.keys.get(prefix), null, 2)}\n`);
    }),
  );
  withAddress(keys.command('revoke <prefix>').description('revoke a key (by its listed prefix)')).action(
    async (prefix: string, flags: KeyFlags) =>
      withHead(flags, async (head) => {
        const view = await head.keys.revoke(prefix);
        process.stdout.write(`key ${view.prefix} revoked\n`);
      }),
  );
  registerLimits(program);
}

function registerLimits(program: Command): void {
  const limits = program
    .command('limits')
    .description('rpm/tpm limits per deployment or route name, across every gateway');
  withAddress(
    limits
      .command('set <name>')
      .description('limit the requests and tokens per minute sent to a deployment or route')
      .option('--rpm <n>', 'requests per minute', parsePositiveInteger)
      .option('--tpm <n>', 'tokens per minute', parsePositiveInteger),
  ).action(async (name: string, flags: KeyFlags) => {
    if (flags.rpm === undefined && flags.tpm === undefined) {
      throw new InvalidArgumentError('give --rpm, --tpm or both (limits rm removes a limit)');
    }
    const set: RateLimits = {
      ...(flags.rpm !== undefined ? { rpm: flags.rpm } : {}),
      ...(flags.tpm !== undefined ? { tpm: flags.tpm } : {}),
    };
    await withHead(flags, async (head) => {
      await head.limits.set(name, set);
      process.stdout.write(`limits of ${name} set\n`);
    });
  });
  withAddress(limits.command('list').description('print every limit as JSON')).action(
    async (flags: KeyFlags) =>
      withHead(flags, async (head) => {
        process.stdout.write(`${JSON.stringify(await head.limits.list(), null, 2)}\n`);
      }),
  );
  withAddress(limits.command('rm <name>').description('remove the limits of a name')).action(
    async (name: string, flags: KeyFlags) =>
      withHead(flags, async (head) => {
        const { removed } = await head.limits.remove(name);
        process.stdout.write(removed ? `limits of ${name} removed\n` : `${name} had no limits\n`);
      }),
  );
}

const KEY_COLUMNS = [
  'PREFIX',
  'NAME',
  'MODELS',
  'BUDGET',
  'SPENT',
  'TOKENS',
  'SECONDS',
  'RPM',
  'TPM',
  'EXPIRES',
  'STATE',
];

function keyRow(view: KeyView): string[] {
  const state = view.revokedAt
    ? 'revoked'
    : view.expiresAt && Date.parse(view.expiresAt) <= Date.now()
      ? 'expired'
      : 'active';
  return [
    view.prefix,
    view.name ?? '',
    view.models?.join(',') ?? '*',
    budgetText(view),
    String(view.spend.money),
    `${view.spend.inputTokens}+${view.spend.outputTokens}`,
    view.spend.seconds.toFixed(1),
    view.rpm === undefined ? '-' : String(view.rpm),
    view.tpm === undefined ? '-' : String(view.tpm),
    view.expiresAt ?? '-',
    state,
  ];
}

/** The money budget, the seconds budget (`3600s`), both, or `-`. */
function budgetText(view: KeyView): string {
  const parts = [
    ...(view.budget === undefined ? [] : [String(view.budget)]),
    ...(view.budgetSeconds === undefined ? [] : [`${view.budgetSeconds}s`]),
  ];
  return parts.length === 0 ? '-' : parts.join(',');
}

async function withHead(flags: KeyFlags, run: (head: HeadClient) => Promise<void>): Promise<void> {
  const cluster = await connect(flags);
  try {
    if (!(cluster instanceof HeadClient)) {
      throw new UnsupportedError('keys and limits live on the head: use --address auto or http://HOST:PORT');
    }
    await run(cluster);
  } finally {
    await cluster.close();
  }
}
