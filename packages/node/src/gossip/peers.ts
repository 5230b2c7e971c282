// The gossip links: per connected peer one outbound stream (opened on connection, started with
// our subscriptions), a few inbound streams read frame by frame, and the per-peer state the
// router keeps (topics, backoffs, per-heartbeat counters). Writes never queue without bound: a
// peer whose stream is backed up past `maxQueuedBytesPerPeer` loses gossip, not our memory.
import type { Connection, Logger, PeerId, Stream } from '@detr/interface';
import { MessageType, type GossipRpc, type GossipRpcInit } from '@detr/protocol';
import { frameBytes, readMessages, writeBytes } from '../framing.js';
import type { ConnectionManager } from '../ports.js';
import { GOSSIP_PROTOCOL, type PubSubOptions } from './types.js';

/** Largest GossipRpc frame read: 64 messages of up to 1 MiB would not fit, so RPCs are split. */
const MAX_RPC_FRAME_BYTES = 4 * 1024 * 1024;

/** What the router knows about one peer. */
export interface PeerState {
  readonly peer: PeerId;
  readonly key: string;
  /** Topics the peer subscribes to. */
  readonly topics: Set<string>;
  /** Topic → time (ms) before which the peer may not be grafted. */
  readonly backoff: Map<string, number>;
  out: Stream | undefined;
  readonly inbound: Stream[];
  opening: boolean;
  /** RPC frames waiting for the stream to open. */
  readonly backlog: Uint8Array[];
  backlogBytes: number;
  /** Counters reset every heartbeat. */
  msgsThisBeat: number;
  iwantServedThisBeat: number;
  iwantAskedThisBeat: number;
  ihaveThisBeat: number;
  firstThisBeat: number;
  /** Set once the peer subscribed past the limit (penalised once). */
  tooManyTopics: boolean;
  /** Outbound streams reopened since the last heartbeat. */
  reopened: number;
  /** Failed stream opens in a row, and heartbeats to skip before the next repair. */
  failures: number;
  skip: number;
}

/** What the links call back into. */
export interface PeerLinkHooks {
  /** The frame every new outbound stream starts with (our subscriptions), if any. */
  hello(): Uint8Array | undefined;
  /** A decoded RPC from `st`. */
  onRpc(st: PeerState, rpc: GossipRpc): Promise<void>;
  /** The peer has no connection left. */
  onPeerGone(st: PeerState): void;
  /** A stream of `st` carried bytes that are not valid RPC framing. */
  onInvalid(st: PeerState, err: unknown): void;
  /** True when `st`'s RPCs are to be ignored (graylisted). */
  ignored(st: PeerState): boolean;
  /** A frame was dropped because the peer is backed up. */
  onDrop(): void;
}

/** The per-peer streams of gossip. */
export class GossipLinks {
  readonly peers = new Map<string, PeerState>();
  private offs: Array<() => void> = [];
  private running = false;

  constructor(
    private readonly connections: ConnectionManager,
    private readonly o: PubSubOptions,
    private readonly log: Logger,
    private readonly hooks: PeerLinkHooks,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const cm = this.connections;
    cm.handle(GOSSIP_PROTOCOL, (s, conn) => this.onInbound(s, conn));
    this.offs.push(cm.on('connection:open', (conn) => this.connect(conn.remotePeer)));
    this.offs.push(cm.on('connection:close', (conn) => this.connectionClosed(conn)));
    for (const conn of cm.connections()) this.connect(conn.remotePeer);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    this.connections.unhandle(GOSSIP_PROTOCOL);
    for (const st of this.peers.values()) {
      st.out?.destroy();
      for (const s of st.inbound.splice(0)) s.destroy();
    }
    this.peers.clear();
  }

  /** The state of `peer`, created on first use. */
  state(peer: PeerId): PeerState {
    const key = peer.toString();
    let st = this.peers.get(key);
    if (st === undefined) {
      st = {
        peer,
        key,
        topics: new Set(),
        backoff: new Map(),
        out: undefined,
        inbound: [],
        opening: false,
        backlog: [],
        backlogBytes: 0,
        msgsThisBeat: 0,
        iwantServedThisBeat: 0,
        iwantAskedThisBeat: 0,
        ihaveThisBeat: 0,
        firstThisBeat: 0,
        tooManyTopics: false,
        reopened: 0,
        failures: 0,
        skip: 0,
      };
      this.peers.set(key, st);
    }
    return st;
  }

  /** Opens the missing outbound streams (once per heartbeat). */
  repair(): void {
    for (const st of this.peers.values()) {
      st.reopened = 0;
      if (st.out !== undefined) continue;
      if (st.skip > 0) st.skip--;
      else void this.ensureStream(st);
    }
  }

  /** Sends `rpc` to `st` (queued until its stream opens). */
  send(st: PeerState, rpc: GossipRpcInit): void {
    let frame: Uint8Array;
    try {
      frame = frameBytes(MessageType.GossipRpc, rpc);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'cannot encode gossip RPC');
      return;
    }
    this.sendFrame(st, frame);
  }

  /** Sends an encoded RPC frame to `st`. */
  sendFrame(st: PeerState, frame: Uint8Array): void {
    if (st.out !== undefined) {
      this.write(st, frame);
      return;
    }
    if (st.backlogBytes + frame.length > this.o.maxQueuedBytesPerPeer) {
      this.hooks.onDrop();
    } else {
      st.backlog.push(frame);
      st.backlogBytes += frame.length;
    }
    void this.ensureStream(st);
  }

  private connect(peer: PeerId): void {
    if (this.running) void this.ensureStream(this.state(peer));
  }

  private connectionClosed(conn: Connection): void {
    if (this.connections.connections(conn.remotePeer).length > 0) return;
    const st = this.peers.get(conn.remotePeer.toString());
    if (st === undefined) return;
    st.out?.destroy();
    for (const s of st.inbound.splice(0)) s.destroy();
    this.peers.delete(st.key);
    this.hooks.onPeerGone(st);
  }

  private async ensureStream(st: PeerState): Promise<void> {
    if (st.out !== undefined || st.opening || !this.running) return;
    st.opening = true;
    try {
      const conn = this.connections.connections(st.peer)[0];
      if (conn === undefined) return;
      const stream = await conn.newStream(GOSSIP_PROTOCOL);
      if (!this.running || this.peers.get(st.key) !== st) {
        stream.destroy();
        return;
      }
      stream.on('error', () => {});
      stream.once('close', () => {
        if (st.out !== stream) return;
        st.out = undefined;
        // The connection may outlive the stream (the remote restarted pub/sub): open a new one
        // at once; repairs after that wait for the next heartbeat or send.
        if (st.reopened++ === 0) setImmediate(() => void this.ensureStream(st));
      });
      // The remote never writes on our outbound stream: discard anything it sends.
      stream.resume();
      st.out = stream;
      st.failures = 0;
      const hello = this.hooks.hello();
      if (hello !== undefined) this.write(st, hello);
      for (const frame of st.backlog.splice(0)) this.write(st, frame);
    } catch (err) {
      // A peer without gossip (or refusing it) is retried after 2, 4, … up to 64 heartbeats.
      st.failures++;
      st.skip = Math.min(2 ** st.failures, 64);
      this.log.debug({ peer: st.key, err: String(err) }, 'gossip stream failed');
    } finally {
      st.backlog.length = 0;
      st.backlogBytes = 0;
      st.opening = false;
    }
  }

  private write(st: PeerState, frame: Uint8Array): void {
    const s = st.out;
    if (s === undefined) return;
    if (s.writableLength + frame.length > this.o.maxQueuedBytesPerPeer) {
      // Gossip is lossy under overload: IWANT/IHAVE repair what a slow peer misses.
      this.hooks.onDrop();
      return;
    }
    writeBytes(s, frame).catch(() => {});
  }

  private async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const st = this.state(conn.remotePeer);
    stream.on('error', () => {});
    st.inbound.push(stream);
    // A peer gets a few inbound streams; a new one replaces the oldest.
    while (st.inbound.length > this.o.maxInboundStreamsPerPeer) st.inbound.shift()?.destroy();
    stream.once('close', () => {
      const i = st.inbound.indexOf(stream);
      if (i >= 0) st.inbound.splice(i, 1);
    });
    void this.ensureStream(st);
    try {
      for await (const { type, message } of readMessages(
        stream,
        [MessageType.GossipRpc],
        MAX_RPC_FRAME_BYTES,
      )) {
        if (type !== MessageType.GossipRpc || !this.running) continue;
        if (this.hooks.ignored(st)) continue;
        await this.hooks.onRpc(st, message);
      }
    } catch (err) {
      this.hooks.onInvalid(st, err);
      stream.reset(err instanceof Error ? err : undefined);
    }
  }
}
