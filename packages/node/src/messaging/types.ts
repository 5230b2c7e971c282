// The messaging service's public types.
import type { AbortOptions, Clock, Logger, PeerId, PeerReporter } from '@detr/interface';
import { ProtocolError } from '@detr/protocol';
import type { Store } from '@detr/stored';
import type { InboundLimiter, Priority, Scheduler } from '@detr/fluent';
import type { ConnectionManager } from '../ports.js';

/** The messaging stream protocol. */
export const MSG_PROTOCOL = '/detr/msg/1';

/** Delivery guarantee of one message. */
export type QosName = 'fire-and-forget' | 'ack';

/** Options of {@link Messaging.send}. */
export interface SendOptions extends AbortOptions {
  /** @default 'fire-and-forget' */
  qos?: QosName;
  /** Outbound priority (fluent). @default 'normal' */
  priority?: Priority;
  /** For `ack`: how long the promise waits for the acknowledgement. @default config ack_timeout_ms */
  timeoutMs?: number;
  /** Store the message in the DHT, sealed, when the peer is unreachable. @default true */
  offline?: boolean;
}

/** How a send ended. */
export interface SendResult {
  /** `sent`: written (fire-and-forget); `acked`: acknowledged; `stored-offline`: in the DHT. */
  status: 'sent' | 'acked' | 'stored-offline';
  /** Sequence number (acknowledged messages), else 0. */
  seq: number;
}

/** A received message. */
export interface ReceivedMessage {
  from: PeerId;
  channel: string;
  data: Uint8Array;
  /** How it arrived. */
  via: 'direct' | 'offline';
}

/** Handles messages of one channel; errors it throws are logged. */
export type MessageHandler = (message: ReceivedMessage) => void | Promise<void>;

export interface MessagingComponents {
  connections: ConnectionManager;
  /** Persists the outbox (namespace `outbox`); in memory when absent. */
  store?: Store;
  scheduler?: Scheduler;
  inbound?: InboundLimiter;
  peerReporter?: PeerReporter;
  clock?: Clock;
  logger?: Logger;
  /** Parses persisted peer ids. */
  peerIdFromString: (text: string) => PeerId;
  /** Stores a message for an unreachable peer; resolves false when it cannot. */
  storeOffline?: (
    peer: PeerId,
    channel: string,
    data: Uint8Array,
    options: AbortOptions,
  ) => Promise<boolean>;
}

export interface MessagingInit {
  /** @default 1047552 */
  maxMessageBytes?: number;
  /** @default 30000 */
  ackTimeoutMs?: number;
  /** @default 5000 */
  retransmitIntervalMs?: number;
  /** @default 10000 */
  maxOutboxMessages?: number;
  /** Time limit of a dial made to send. @default 30000 */
  dialTimeoutMs?: number;
}

export interface MessagingStats {
  sent: number;
  received: number;
  acked: number;
  retransmitted: number;
  duplicates: number;
  outbox: number;
  invalid: number;
  storedOffline: number;
}

export interface Messaging {
  start(): Promise<void>;
  stop(): Promise<void>;
  send(peer: PeerId, channel: string, data: Uint8Array, options?: SendOptions): Promise<SendResult>;
  onMessage(channel: string, handler: MessageHandler): () => void;
  /** Hands a message that arrived another way (offline) to the channel's handlers. */
  deliver(message: ReceivedMessage): void;
  /** Acknowledged messages waiting, per peer (text form). */
  pending(): Record<string, number>;
  stats(): MessagingStats;
}

/** True for errors caused by what the remote sent (not by the stream closing). */
export function isHostile(err: unknown): boolean {
  return err instanceof ProtocolError || err instanceof RangeError || err instanceof TypeError;
}
