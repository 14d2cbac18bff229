/** The cluster layer: deployments, worker pools, routing, transports and the head. */
export * from './cluster-api.js';
export { type DeploymentPersistence, Head, type HeadOptions } from './head/head.js';
export { createAdminApi, type AdminApiOptions } from './head/admin-api.js';
export { attachStreamChannel, type StreamChannelOptions } from './head/stream-channel.js';
export { drained } from './head/ndjson-response.js';
export { HeadClient, type HeadClientOptions } from './head/head-client.js';
export * from './head/head-file.js';
export { ensureHead, type EnsureHeadOptions } from './head/head-launcher.js';
export * from './resources.js';
export { Placement, type WorkerPlacement } from './placement.js';
export { RunningDeployment } from './running-deployment.js';
export {
  DeploymentStore,
  ensureStateDirectory,
  removeStaleTemporaryFiles,
  resolveStateDirectory,
  writeFileAtomic,
} from './state-store.js';
export { createInProcessTransport, endWithErrorPart } from './transport/in-process-transport.js';
export * from './transport/transport.js';
export { createLocalTransport, type LocalTransportOptions } from './transport/local-transport.js';
export { createProcessTransport, type ProcessTransportOptions } from './transport/process-transport.js';
export { type DeploymentStat, type Lease, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
export * from './routing/index.js';
export {
  type ClusterConnection,
  connectCluster,
  type ConnectOptions,
  connectLocalHead,
  HEAD_ENTRY,
} from './connect.js';
export * from './head/gateway-host.js';
export type { StorageHost } from './head/storage-host.js';
export type { AttachedGateway } from './head/head-client.js';
export type { RouteSummary } from './head/route-endpoints.js';
export * from './nats/index.js';
export * from './governance/index.js';
