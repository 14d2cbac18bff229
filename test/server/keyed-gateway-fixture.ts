/**
 * A gateway with virtual keys charged as head-main composes them: the head's `AccessControl` is the
 * gateway's gate (prices from the deployed specs, a route's targets from its `Governance`) and the
 * head's ticket charges, so every try of a keyed request is checked on the worker slot it takes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AccessControl,
  Governance,
  type Head,
  pricesOfSpecs,
  routeTargetsOf,
  VirtualKeyStore,
} from '../../src/cluster/index.js';
import type { DeploymentSpecInput } from '../../src/core/index.js';
import { type Gateway, startGateway } from './gateway-fixture.js';

export const MASTER_KEY = 'master-key-0123456789';

export interface KeyedGateway {
  gateway: Gateway;
  keys: VirtualKeyStore;
  control: AccessControl;
  governance: Governance;
  /** Closes the gateway, waits for the last write of keys.json and removes the state directory. */
  close(): Promise<void>;
}

/** `deployments` is given the state directory, for model files a deployment needs written first. */
export async function startKeyedGateway(
  prefix: string,
  deployments: (stateDirectory: string) => Promise<DeploymentSpecInput[]>,
): Promise<KeyedGateway> {
  const stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const keys = new VirtualKeyStore(stateDirectory);
  const governance = new Governance();
  let head: Head | undefined;
  const control = new AccessControl({
    keys,
    priceOf: pricesOfSpecs((name) => head?.specOf(name)),
    targetsOf: routeTargetsOf(governance),
  });
  const gateway = await startGateway({
    server: { apiKey: MASTER_KEY, gate: control },
    governance,
    deployments: await deployments(stateDirectory),
  });
  head = gateway.head;
  head.ticketCharges = control;
  return {
    gateway,
    keys,
    control,
    governance,
    async close() {
      await gateway.close();
      // Spend is written to keys.json after each settle; wait for the last write before removing it.
      await keys.flush();
      await fs.rm(stateDirectory, { recursive: true, force: true });
    },
  };
}
