import { runTransportCompliance } from '@detr/compliance';
import { createTestNetwork, memoryFactory } from '../support/network.js';

runTransportCompliance(memoryFactory(createTestNetwork()));
