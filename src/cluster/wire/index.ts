/**
 * The cluster's wire format, shared by every carrier (admin HTTP API, NATS, worker IPC): call kinds,
 * the request schema of each, binary values in JSON, errors and stream parts. A carrier imports what
 * it sends from here and never from another carrier.
 */
export * from './binary.js';
export * from './call-kinds.js';
export * from './errors.js';
export * from './request-schemas.js';
export * from './stream-parts.js';
