/**
 * Turns `--address` (or Byzer-LLM's `--ray_address`) into a cluster connection for a command.
 */
import { type ClusterConnection, connectCluster } from '../cluster/index.js';
import { isQuiet } from './arguments.js';
import { message } from './messages.js';
import { type NatsSecurityFlags, natsSecurityFromFlags } from './options.js';

export interface AddressOptions extends NatsSecurityFlags {
  address?: string;
  ray_address?: string;
}

/** `--address`, else `--ray_address`, else `$BYZERLLM_ADDRESS`, else the local head (`auto`). */
export function chosenAddress(options: AddressOptions, environment = process.env): string {
  return options.address ?? options.ray_address ?? (environment.BYZERLLM_ADDRESS || 'auto');
}

export function connect(
  options: AddressOptions,
  hooks: { autoStart?: boolean; onStarting?: () => void } = {},
): Promise<ClusterConnection> {
  return connectCluster({
    address: chosenAddress(options),
    nats: natsSecurityFromFlags(options),
    ...(hooks.autoStart === undefined ? {} : { autoStart: hooks.autoStart }),
    onStarting:
      hooks.onStarting ??
      (() => {
        if (!isQuiet()) process.stderr.write(`✓ ${message('headStarted')}\n`);
      }),
  });
}
