// The types of the NAT service (createNat): what it needs (components), its options, its status.
import type {
  Address,
  Clock,
  Connection,
  ConnectionGate,
  ConnectionHandler,
  Logger,
  PeerId,
  PeerReporter,
  PeerRouting,
  SharedRecords,
  Startable,
  StreamHandler,
  StreamRegistry,
  AbortOptions,
} from '@detr/interface';
import type { Reachability } from '../autonat.js';
import type { IceServerInit } from '../ice/config.js';
import type { RelayServer, RelayServerInit } from '../relay/server.js';
import type { CircuitTransport, StreamUpgrader } from '../relay/transport.js';
import type { SignalingInit } from '../signaling/service.js';
import type { FilteringBehaviour, MappingBehaviour } from '../stun/behaviour.js';
import type { NatProfile } from '../strategy.js';
import type { HandshakeComponents } from '../webrtc/handshake.js';
import type { MuxFactory } from '../webrtc/secure.js';
import type { WebRTCTransport, WebRTCTransportInit } from '../webrtc/transport.js';

/** The connections nat uses: the node's connection manager. */
export interface NatConnectionManager {
  connections(peer?: PeerId): readonly Connection[];
  dial(target: PeerId | Address, options?: AbortOptions): Promise<Connection>;
  handle(protocol: string, handler: StreamHandler): void;
  unhandle(protocol: string): void;
  /** Our own listen addresses (for AutoNAT). */
  addresses(): readonly Address[];
}

/** Injected dependencies of {@link createNat}. */
export interface NatComponents extends HandshakeComponents {
  peerId: PeerId;
  connections: NatConnectionManager;
  /**
   * Where inbound streams of WebRTC and relayed connections go (the node's protocol handlers).
   * Needed unless `mux` is given.
   */
  registry?: StreamRegistry;
  /**
   * Builds a multiplexed connection over an authenticated pipe.
   *
   * @default createMuxFactory({ registry, reporter, clock, logger }) (`@detr/transport`'s mux)
   */
  mux?: MuxFactory;
  /**
   * Handshake + secure channel + mux over a byte stream, for circuits.
   *
   * @default createStreamUpgrader(components) (aecomms' handshake and Noise session, and `mux`)
   */
  upgradeStream?: StreamUpgrader;
  /** Where inbound WebRTC and relayed connections go (the connection manager's accept path). */
  onConnection: ConnectionHandler;
  /**
   * Called when a relayed connection was upgraded to a direct one; the default hands the new
   * connection to `onConnection` and closes the relayed one gracefully.
   */
  onUpgrade?: (direct: Connection, relayed: Connection) => void;
  /** Dials `address` on a new connection expecting `peer`, for AutoNAT's dial-back service. */
  dialBack?: (
    address: Address,
    peer: PeerId,
    options: { signal: AbortSignal },
  ) => Promise<Connection>;
  /** The DHT's records (signaling with no connection in common). */
  records?: SharedRecords;
  /** The DHT's presence lookup (relay addresses of a peer). */
  routing?: PeerRouting;
  gate?: ConnectionGate;
  reporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
}

/** Options of {@link createNat}. */
export interface NatInit {
  /** STUN and TURN servers. @default [] */
  iceServers?: readonly IceServerInit[];
  /** Local address ICE and STUN use. @default every interface */
  bindAddress?: string;
  /** Offer the relay service to others (`true` for the defaults). @default false */
  relayService?: boolean | RelayServerInit;
  /** Relays to hold a reservation at (`<address>/p2p/<relay>`). @default [] */
  relays?: readonly Address[];
  /** Upgrade relayed connections to direct WebRTC ones. @default true */
  holePunching?: boolean;
  /** Re-run NAT behaviour discovery this often; 0 runs it once at start. @default 600000 */
  discoveryIntervalMs?: number;
  /** Ask connected peers for a dial-back this often; 0 disables AutoNAT. @default 300000 */
  autonatIntervalMs?: number;
  /** Dial-back confirmations (or failures) from distinct peers needed for a verdict. @default 2 */
  autonatThreshold?: number;
  /** Answer other peers' dial-back requests (needs `dialBack`). @default true */
  autonatService?: boolean;
  signaling?: SignalingInit;
  webrtc?: Omit<WebRTCTransportInit, 'iceServers' | 'bindAddress'>;
}

/** What the node knows of its NAT: `node.nat.status`. */
export interface NatStatus {
  /** Mapping behaviour from STUN bindings to two servers. */
  readonly mapping: MappingBehaviour;
  /** Filtering behaviour from RFC 5780 tests (when the server supports them). */
  readonly filtering: FilteringBehaviour;
  /** AutoNAT's verdict from peers dialing us back. */
  readonly reachability: Reachability;
  /** Our public endpoints as STUN servers saw them. */
  readonly publicAddresses: readonly string[];
  /** Circuit addresses through relays holding a reservation for us. */
  readonly relayAddresses: readonly string[];
  /** Whether a TURN server is configured. */
  readonly turn: boolean;
  /** When discovery last ran (ms since the epoch), 0 before. */
  readonly checkedAtMs: number;
}

/** The NAT service. */
export interface Nat extends Startable {
  readonly status: NatStatus;
  /** The WebRTC and circuit transports, for the connection manager. */
  readonly transports: { readonly webrtc: WebRTCTransport; readonly circuit: CircuitTransport };
  /** The relay service, when offered. */
  readonly relay: RelayServer | undefined;
  /** Our NAT profile, as the connection strategy uses it. */
  profile(): NatProfile;
  /** Circuit addresses to advertise (DHT presence). */
  relayAddresses(): Address[];
  /** Called when the status changes (relay addresses, discovery, reachability). */
  onStatus(listener: (status: NatStatus) => void): () => void;
  /**
   * Tries to replace a relayed connection by a direct WebRTC one (signaling over the relayed
   * connection; ICE's simultaneous checks punch the holes). Resolves with the direct connection,
   * or `undefined` when no direct path exists; the caller decides what to do with both.
   */
  upgrade(relayed: Connection, options?: AbortOptions): Promise<Connection | undefined>;
  /** Runs NAT discovery now. */
  discover(options?: AbortOptions): Promise<NatStatus>;
}
