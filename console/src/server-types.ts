/** The server's types, as the page receives them over JSON (type imports only: nothing is bundled). */
export type { ClusterStatus, DeploymentInfo } from '../../src/cluster/cluster-api.js';
export type { DeploymentStat } from '../../src/cluster/worker-pool.js';

/** `StreamPart` after JSON: errors arrive serialized. */
export type StreamPart =
  | { type: 'response-metadata'; requestId: string }
  | { type: 'text-delta'; delta: string }
  | { type: 'reasoning-delta'; delta: string }
  | { type: 'tool-call'; toolCall: { name: string; arguments: string } }
  | { type: 'finish'; finishReason: string; usage: { promptTokens?: number; completionTokens?: number } }
  | { type: 'error'; error: { code: string; message: string } };
