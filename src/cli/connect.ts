/**
 * Turns `--address` (or the seeds' `--ray_address`) into a cluster connection.
 *
 * - `auto` (default): the local head of `$BYZERLLM_HOME` (or `~/.byzerllm`), started if none runs.
 * - `http://HOST:PORT`: a head's admin API; the token comes from `$BYZERLLM_ADMIN_TOKEN`.
 */
import { fileURLToPath } from 'node:url';
import { ensureHead, HeadClient, resolveStateDirectory } from '../cluster/index.js';
import { InvalidArgumentError, UnsupportedError } from '../core/index.js';

export const HEAD_ENTRY = fileURLToPath(new URL('./head-main.js', import.meta.url));

export interface AddressOptions {
  address?: string;
  ray_address?: string;
}

export function chosenAddress(options: AddressOptions): string {
  return options.address ?? options.ray_address ?? 'auto';
}

export async function connect(
  options: AddressOptions,
  hooks: { autoStart?: boolean; onStarting?: () => void } = {},
): Promise<HeadClient> {
  const address = chosenAddress(options);
  if (address === 'auto') {
    const head = await ensureHead({
      stateDirectory: resolveStateDirectory(),
      entry: HEAD_ENTRY,
      ...(hooks.autoStart === undefined ? {} : { autoStart: hooks.autoStart }),
      onStarting: hooks.onStarting ?? (() => process.stderr.write('✓ no head was running: started one\n')),
    });
    return new HeadClient({ address: head.address, token: head.token });
  }
  if (/^https?:\/\//.test(address)) {
    const token = process.env.BYZERLLM_ADMIN_TOKEN;
    if (!token) {
      throw new InvalidArgumentError(
        `--address ${address} needs the head's admin token in BYZERLLM_ADMIN_TOKEN (see ${'`byzerllm status`'} on the head machine)`,
      );
    }
    return new HeadClient({ address: address.replace(/\/+$/, ''), token });
  }
  if (address.startsWith('nats://')) {
    throw new UnsupportedError(
      `--address ${address}: NATS clusters are not available in this build yet; use auto`,
    );
  }
  throw new InvalidArgumentError(
    `invalid --address ${JSON.stringify(address)}; allowed: auto, http://HOST:PORT`,
  );
}
