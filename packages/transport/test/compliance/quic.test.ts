import { runTransportCompliance } from '@detr/compliance';
import { createTestNetwork, quicFactory } from '../support/network.js';

runTransportCompliance(quicFactory(createTestNetwork()));
