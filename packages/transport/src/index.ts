/**
 * @packageDocumentation
 * @detr/transport: encrypted, multiplexed connections over TCP, QUIC and in-memory pipes, and the
 * connection manager. TCP and memory connections run the Noise XX handshake with the network
 * token check (@detr/aecomms) and the detr stream multiplexer (frames of @detr/protocol); QUIC
 * connections run TLS on the quinn binding of @chainsafe/libp2p-quic with the detr identity key
 * and the same network check on their first stream.
 */
export { createTcpTransport } from './tcp/transport.js';
export { createMemoryTransport, createMemoryHub } from './memory/transport.js';
export type { MemoryHub, MemoryTransportComponents } from './memory/transport.js';
export { createQuicTransport } from './quic/transport.js';
export type { QuicTransportInit } from './quic/transport.js';
export { QUIC_BINDING_VERSION, loadQuinnBinding } from './quic/binding.js';
export type {
  QuinnBinding,
  QuinnConfigInit,
  NativeClient,
  NativeConnection,
  NativeServer,
  NativeStream,
} from './quic/binding.js';
export { libp2pPrivateKey } from './quic/keys.js';
export type { TransportComponents, TransportInit } from './components.js';
export { TRANSPORT_DEFAULTS } from './components.js';
export type { MuxInit } from './mux/options.js';
export { MUX_DEFAULTS, BASE_WINDOW_BYTES } from './mux/options.js';
export { createMuxConnection } from './mux/index.js';
export type { MuxedConnection, MuxComponents, MuxConnectionInfo } from './mux/index.js';
export type { MessagePipe, PipeHandlers } from './pipe.js';
export { createStreamRegistry } from './registry.js';
export type { MutableStreamRegistry } from './registry.js';
export { createConnectionManager } from './manager/manager.js';
export { NoAddressError } from './manager/types.js';
export type {
  ConnectionManager,
  ConnectionManagerComponents,
  ConnectionManagerEvents,
  ConnectionManagerInit,
} from './manager/types.js';
export type { BackoffInit } from './manager/backoff.js';
export { BACKOFF_DEFAULTS } from './manager/backoff.js';
export {
  GateRefusedError,
  HandshakeTimeoutError,
  UnsupportedAddressError,
  QuicBindingError,
  QuicIdentityError,
  DialFailedError,
} from './errors.js';
export { createDuplexPair } from './memory/duplex-pair.js';

/** Where this package sits in detr's layers (see docs/ARCHITECTURE.md). */
export const packageInfo = { name: '@detr/transport', layer: 'peers' } as const;
