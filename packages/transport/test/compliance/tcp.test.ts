import { runTransportCompliance } from '@detr/compliance';
import { createTestNetwork, tcpFactory } from '../support/network.js';

runTransportCompliance(tcpFactory(createTestNetwork()));
