import type { Address, PeerId, PenaltyReason, StreamHandler, Transport } from '@detr/interface';

/** Settings an endpoint is created with (each transport maps them to its own options). */
export interface ComplianceEndpointOptions {
  /** Concurrent bidirectional streams the remote may open, and we may open. */
  maxBidirectionalStreams?: number;
  /** As `maxBidirectionalStreams`, for unidirectional streams. */
  maxUnidirectionalStreams?: number;
  /** Close a connection after this long without an open stream. */
  idleTimeoutMs?: number;
  /** Interval of keepalive pings (which measure the round trip). */
  keepaliveIntervalMs?: number;
  /** The endpoint holds no valid network token (it must be refused by everyone else). */
  withoutToken?: boolean;
}

/** One side of a test: a transport with its own identity and stream handlers. */
export interface ComplianceEndpoint {
  readonly transport: Transport;
  /** The identity this endpoint authenticates as. */
  readonly peer: PeerId;
  /** Registers the handler of inbound streams of `protocol` (in the transport's registry). */
  handle(protocol: string, handler: StreamHandler): void;
  /** Every penalty this endpoint's transport reported, in order. */
  readonly penalties: ReadonlyArray<{ peer: PeerId; reason: PenaltyReason }>;
}

/**
 * What a transport implementation gives the suite. The suite never imports the implementation:
 * everything comes through these factories.
 */
export interface TransportComplianceFactory {
  /** Name of the transport, e.g. `'tcp'`; also what `Connection.transport` must say. */
  readonly name: string;
  /** A fresh endpoint in the shared test network, with a valid token unless told otherwise. */
  endpoint(options?: ComplianceEndpointOptions): Promise<ComplianceEndpoint>;
  /** A fresh address to listen on (port 0, a new memory name…). */
  listenAddress(): Address;
  /**
   * A listener that accepts the transport's connection but never answers its handshake, for
   * aborting a dial in the middle.
   */
  silentListener(): Promise<{ address: Address; close(): Promise<void> }>;
  /**
   * Connects to `address` as a valid member of the network, completes authentication, then sends
   * bytes the multiplexer cannot accept (a malformed frame). Returns the PeerId it used.
   */
  injectMalformed(address: Address): Promise<{ peer: PeerId; close(): Promise<void> }>;
}

/** Options of {@link runTransportCompliance}. */
export interface TransportComplianceOptions {
  /**
   * Bytes sent through one stream to a slow reader.
   *
   * @default 104857600 (100 MiB)
   */
  bulkBytes?: number;
  /**
   * Largest growth of `process.memoryUsage().arrayBuffers` accepted during the bulk case.
   *
   * @default 64 MiB
   */
  maxBulkMemoryGrowthBytes?: number;
  /**
   * Time limit of each case.
   *
   * @default 60000
   */
  caseTimeoutMs?: number;
}
