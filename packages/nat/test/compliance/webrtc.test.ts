import { runTransportCompliance } from '@detr/compliance';
import { createWebRTCTestNetwork, webrtcFactory } from '../support/webrtc-net.js';

runTransportCompliance(webrtcFactory(createWebRTCTestNetwork()));
