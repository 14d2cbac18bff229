/**
 * Virtual keys of the gateway (`byzerllm keys create|list|revoke`): bearer keys with their own models,
 * budget, rate limits and expiry, and the spend recorded against them. Kept in `keys.json` (0600,
 * atomic writes, zod on read) in the head's state directory, with the per-deployment rate limits.
 *
 * A key is `sk-byz-<id>-<secret>`: the id finds the record in one map lookup, the secret is checked
 * against `sha256(salt ‖ secret)` with a per-key random salt (the secret is 192 random bits, so a
 * slow hash would add nothing). The whole key is shown once, when it is created; the store keeps the
 * hash only, and lists show the `sk-byz-<id>` prefix.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError, NotFoundError } from '../../core/index.js';
import { readFileIfExists, writeFileAtomic } from '../state-store.js';

const KEY_PATTERN = /^sk-byz-([0-9a-f]{12})-([A-Za-z0-9_-]{32})$/;

export const rateLimitsSchema = z.strictObject({
  /** Requests per minute (sliding 60 s). */
  rpm: z.number().int().min(1).optional(),
  /** Tokens (input + output) per minute (sliding 60 s); requests reserve an estimate, settled after. */
  tpm: z.number().int().min(1).optional(),
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;

/** What a key has used; money in pico-units (see `core/pricing.ts`), so sums stay exact. */
export const keySpendSchema = z.strictObject({
  requests: z.number().int().min(0),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  moneyPico: z.number().int().min(0),
  /**
   * Busy seconds of requests to deployments without a price: what local workers reported (CPU- and
   * GPU-seconds, below), or the time at the gateway of a request whose worker reported none. What
   * `budgetSeconds` limits.
   */
  seconds: z.number().min(0),
  /** The part of `seconds` that local workers without GPUs reported (CPU time). */
  cpuSeconds: z.number().min(0).default(0),
  /** The part of `seconds` that local workers with GPUs reported (wall time × GPUs). */
  gpuSeconds: z.number().min(0).default(0),
});
export type KeySpend = z.infer<typeof keySpendSchema>;

/** What `keys create` takes. */
export const keySettingsSchema = rateLimitsSchema.extend({
  name: z.string().min(1).max(128).optional(),
  /** Deployments or route names the key may call; absent: any. */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** Money the key may spend (the currency of the deployments' prices); at most 9,000 (exact sums). */
  budget: z.number().min(0).max(9000).optional(),
  /** Busy seconds (`KeySpend.seconds`) the key may use on local workers; at most 10⁹. */
  budgetSeconds: z.number().min(0).max(1e9).optional(),
  /** Seconds from now until the key stops working. */
  expiresInSeconds: z.number().int().min(1).optional(),
});
export type KeySettings = z.input<typeof keySettingsSchema>;

const keyRecordSchema = rateLimitsSchema.extend({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  name: z.string().optional(),
  models: z.array(z.string()).optional(),
  budget: z.number().min(0).optional(),
  budgetSeconds: z.number().min(0).optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
  salt: z.string().regex(/^[0-9a-f]{32}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  spend: keySpendSchema,
});
export type KeyRecord = z.infer<typeof keyRecordSchema>;

const keysFileSchema = z.strictObject({
  version: z.literal(1),
  keys: z.array(keyRecordSchema),
  deploymentLimits: z.record(z.string(), rateLimitsSchema),
});

/** A key as `keys list` and the admin API show it: never the hash or salt. */
export interface KeyView {
  id: string;
  prefix: string;
  name?: string;
  models?: string[];
  budget?: number;
  budgetSeconds?: number;
  rpm?: number;
  tpm?: number;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  spend: Omit<KeySpend, 'moneyPico'> & { money: number; moneyPico: number };
}

export function emptySpend(): KeySpend {
  return {
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    moneyPico: 0,
    seconds: 0,
    cpuSeconds: 0,
    gpuSeconds: 0,
  };
}

function hashSecret(salt: string, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

export class VirtualKeyStore {
  private readonly keys = new Map<string, KeyRecord>();
  readonly deploymentLimits = new Map<string, RateLimits>();
  private writing: Promise<void> = Promise.resolve();
  /**
   * Presented keys already checked against their hash: a key sent with every request costs a
   * sha256 once, not per request (a profile showed ~5 µs of CPU each). Bounded; revocation and
   * expiry are read from the record, so a cached key stops working like any other.
   */
  private readonly verified = new Map<string, KeyRecord>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stateDirectory: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  async load(): Promise<void> {
    const file = this.file();
    if (!file) return;
    const text = await readFileIfExists(file);
    if (text === undefined) return;
    const stored = keysFileSchema.parse(JSON.parse(text));
    for (const record of stored.keys) this.keys.set(record.id, record);
    for (const [name, limits] of Object.entries(stored.deploymentLimits)) {
      this.deploymentLimits.set(name, limits);
    }
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(input: KeySettings): Promise<{ key: string; view: KeyView }> {
    const parsed = keySettingsSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(
        `invalid key setting ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
    }
    const settings = parsed.data;
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(24).toString('base64url');
    const salt = randomBytes(16).toString('hex');
    const record: KeyRecord = {
      id,
      ...(settings.name !== undefined ? { name: settings.name } : {}),
      ...(settings.models ? { models: settings.models } : {}),
      ...(settings.budget !== undefined ? { budget: settings.budget } : {}),
      ...(settings.budgetSeconds !== undefined ? { budgetSeconds: settings.budgetSeconds } : {}),
      ...(settings.rpm !== undefined ? { rpm: settings.rpm } : {}),
      ...(settings.tpm !== undefined ? { tpm: settings.tpm } : {}),
      createdAt: new Date(this.now()).toISOString(),
      ...(settings.expiresInSeconds !== undefined
        ? { expiresAt: new Date(this.now() + settings.expiresInSeconds * 1000).toISOString() }
        : {}),
      salt,
      hash: hashSecret(salt, secret).toString('hex'),
      spend: emptySpend(),
    };
    this.keys.set(id, record);
    await this.persist();
    return { key: `sk-byz-${id}-${secret}`, view: viewOf(record) };
  }

  /** The record a presented key belongs to, if the secret matches (revoked or expired ones too). */
  find(presented: string): KeyRecord | undefined {
    const known = this.verified.get(presented);
    if (known) return known;
    const record = this.check(presented);
    if (record) {
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(presented, record);
    }
    return record;
  }

  private check(presented: string): KeyRecord | undefined {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return undefined;
    const record = this.keys.get(match[1]!);
    if (!record) return undefined;
    const expected = Buffer.from(record.hash, 'hex');
    return timingSafeEqual(hashSecret(record.salt, match[2]!), expected) ? record : undefined;
  }

  /** By id or by the listed prefix (`sk-byz-<id>`). */
  get(idOrPrefix: string): KeyRecord {
    const id = idOrPrefix.startsWith('sk-byz-') ? idOrPrefix.slice(7, 19) : idOrPrefix;
    const record = this.keys.get(id);
    if (!record) {
      throw new NotFoundError(`no virtual key ${idOrPrefix}; \`byzerllm keys list\` shows the keys`, {
        details: { resource: 'key' },
      });
    }
    return record;
  }

  list(): KeyView[] {
    return [...this.keys.values()]
      .map(viewOf)
      .sort((left, right) => left.createdAt.localeCompare(right.createdAt));
  }

  async revoke(idOrPrefix: string): Promise<KeyView> {
    const record = this.get(idOrPrefix);
    record.revokedAt ??= new Date(this.now()).toISOString();
    await this.persist();
    return viewOf(record);
  }

  async setDeploymentLimits(name: string, limits: RateLimits | undefined): Promise<void> {
    if (limits && (limits.rpm !== undefined || limits.tpm !== undefined)) {
      this.deploymentLimits.set(name, rateLimitsSchema.parse(limits));
    } else {
      this.deploymentLimits.delete(name);
    }
    await this.persist();
  }

  /**
   * Spend changes with every request: written at most once a second (and by `flush`), not per
   * request. A head that crashes loses at most the last second of spend records.
   */
  spendChanged(): void {
    if (this.flushTimer || !this.file()) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.persist().catch(() => {});
    }, 1000);
    this.flushTimer.unref();
  }

  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.persist();
  }

  private file(): string | undefined {
    return this.stateDirectory ? path.join(this.stateDirectory, 'keys.json') : undefined;
  }

  /** One write at a time, of the state when it starts, so the last change always lands last. */
  private persist(): Promise<void> {
    const file = this.file();
    if (!file) return Promise.resolve();
    this.writing = this.writing
      .catch(() => {})
      .then(() => {
        const content = {
          version: 1 as const,
          keys: [...this.keys.values()],
          deploymentLimits: Object.fromEntries(this.deploymentLimits),
        };
        return writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
      });
    return this.writing;
  }
}

export function viewOf(record: KeyRecord): KeyView {
  const { salt: _salt, hash: _hash, spend, ...shown } = record;
  return {
    ...shown,
    prefix: `sk-byz-${record.id}`,
    spend: { ...spend, money: spend.moneyPico / 1e12 },
  };
}
