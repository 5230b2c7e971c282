/**
 * @packageDocumentation
 * @detr/node: the composed node: event-bus API (send / onMessage / broadcast), gossip pub/sub,
 * services with relay forwarding, offline delivery, networks and tokens, the daemon and its
 * control API, the `detr` CLI and `detr demo`.
 */
export { createNode, REVOCATION_TOPIC } from './node.js';
export type { DetrNode, NodeComponents, NodeEvents, NodeInit, NodeStatus } from './node.js';
export type { ConnectionManager, ConnectionEvents } from './ports.js';
export {
  createMessaging,
  MSG_PROTOCOL,
  type Messaging,
  type MessageHandler,
  type QosName,
  type ReceivedMessage,
  type SendOptions,
  type SendResult,
} from './messaging.js';
export {
  createServices,
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
} from './services.js';
export {
  createPubSub,
  GOSSIP_PROTOCOL,
  messageIdOf,
  type PubSub,
  type PubSubComponents,
  type PubSubInit,
  type PubSubStats,
  type PubSubMessage,
  type TopicHandler,
  type TopicValidator,
  type Verdict,
} from './gossip/pubsub.js';
export {
  sealOffline,
  openOffline,
  x25519PublicFromEd25519,
  x25519PrivateFromEd25519Seed,
  type OpenedOffline,
} from './offline/seal.js';
export {
  createOffline,
  mailboxKey,
  mailboxValidator,
  senderSlots,
  MAILBOX_NAMESPACE,
  MAILBOX_SLOTS,
  SLOTS_PER_SENDER,
  type Offline,
  type OfflineInit,
  type OfflineStats,
  type MailboxRecords,
} from './offline/mailbox.js';
export { createNodeDht, kvKey, KV_NAMESPACE, type NodeDht } from './net/dht.js';
export { createStack, type Stack, type StackInit } from './net/stack.js';
export {
  createNetwork,
  parseNetwork,
  issueToken,
  verifyToken,
  revokeTokens,
  parseRevocations,
  encodeJoin,
  decodeJoin,
  type Network,
  type Revocations,
  type TokenInfo,
} from './networks.js';
export {
  resolveConfig,
  parseConfig,
  loadConfigFile,
  renderConfig,
  configTable,
  opt,
  type NodeConfig,
  type ConfigInput,
} from './config/config.js';
export { SCHEMA as CONFIG_SCHEMA, SECTIONS as CONFIG_SECTIONS } from './config/schema.js';
export { startDaemon, type Daemon, type DaemonOptions, type ControlInfo } from './daemon/daemon.js';
export { startControlServer, type ControlServer } from './daemon/control.js';
export { createMetrics } from './daemon/metrics.js';
export { runDemo, type DemoOptions, type DemoRow } from './demo.js';
export {
  ConfigError,
  UnknownServiceError,
  RequestRefusedError,
  HandlerError,
  PeerUnreachableError,
  RemoteProtocolError,
  MessageTooLargeError,
  ControlApiError,
  InvalidTokenError,
} from './errors.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/node', layer: 'node' } as const;
