// Services (/detr/svc/1): the modules are in services/; this file keeps the import path.
export { createServices } from './services/services.js';
export {
  FORWARD_SERVICE,
  FORWARDED_SERVICE,
  SVC_PROTOCOL,
  type ForwardPolicy,
  type RequestContext,
  type RequestOptions,
  type ServiceHandler,
  type Services,
  type ServicesComponents,
  type ServicesInit,
  type ServicesStats,
} from './services/types.js';
