/** byzerllm over NATS: transport, node agents, the head's NATS side and the NATS cluster client. */
export { ClusterKey } from './cluster-key.js';
export { KvDeploymentStore } from './kv-deployment-store.js';
export {
  CACHE_BUCKET_BYTES,
  cacheEntryKey,
  KV_RESPONSE_CACHE,
  KvRouteCache,
  kvRouteCaches,
  MAX_CACHE_TTL_MS,
  MAX_CACHED_ANSWER_BYTES,
  ResponseCacheBucket,
} from './kv-route-cache.js';
export { createHeadService, HEAD_SERVICE_NAME, serveClusterOverNats } from './nats-admin-server.js';
export { NatsAccessGate } from './nats-access-gate.js';
export { NatsGovernance } from './nats-governance.js';
export { NatsClusterClient } from './nats-cluster-client.js';
export { connectNats } from './nats-connection.js';
export * from './nats-protocol.js';
export {
  type NatsSecurityOptions,
  type NatsTlsOptions,
  natsSecurityEnvironment,
  natsSecurityFromEnvironment,
  redactNatsUrl,
} from './nats-security.js';
export { NODE_ID_PATTERN } from './nats-messages.js';
export { NatsTransport } from './nats-transport.js';
export { CancellationRegistry, serveWorkerOverNats } from './nats-worker-server.js';
export {
  checkNodeId,
  defaultNodeId,
  type NodeAdvert,
  type NodeAgent,
  type NodeAgentOptions,
  startNodeAgent,
} from './node-agent.js';
export { NodeDirectory } from './node-directory.js';
export { type NatsHead, type NatsHeadOptions, startNatsHead } from './nats-head.js';
export { HeadJobs, type JobPlacer, type PlacedJobsView } from './head-jobs.js';
export { trainedModelOutcome } from './head-job-deploy.js';
export {
  type ClusterJobRecord,
  FINISHED_JOB_STATUSES,
  type JobProgressEvent,
  type PlacedJobRecord,
  type TrainingJobRunner,
} from './job-messages.js';
