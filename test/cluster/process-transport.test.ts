import { createProcessTransport } from '../../src/cluster/index.js';
import { runTransportConformance } from './transport-conformance.js';

runTransportConformance('process', async () => ({
  transport: createProcessTransport(),
  close: async () => {},
}));
