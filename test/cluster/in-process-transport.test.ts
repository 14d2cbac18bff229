import { createInProcessTransport } from '../../src/cluster/index.js';
import { runTransportConformance } from './transport-conformance.js';

runTransportConformance('in-process', async () => ({
  transport: createInProcessTransport(),
  close: async () => {},
}));
