// Reaching peers: dials by PeerId resolved through the DHT's presence records, connect(), findPeer().
import {
  AbortError,
  parseAddress,
  withPeer,
  type AbortOptions,
  type Address,
  type Connection,
  type PeerId,
} from '@detr/interface';
import { HandshakeError, peerIdFromString } from '@detr/aecomms';
import type { Dpeers } from '@detr/dpeers';
import type { ConnectionManager } from '@detr/transport';
import type { NodeDht } from './net/dht.js';
import type { ConnectionManager as PortManager } from './ports.js';
import type { NodeEvents } from './node-types.js';
import { PeerUnreachableError } from './errors.js';

type Emit = <E extends keyof NodeEvents>(event: E, payload: NodeEvents[E]) => void;

/** Adds the addresses of `peer`'s presence to the manager; false when it has none. */
export async function locate(
  dht: NodeDht,
  cm: ConnectionManager,
  peer: PeerId,
  options?: AbortOptions,
): Promise<boolean> {
  const found = await dht.findPeer(peer, options).catch(() => undefined);
  if (found === undefined) return false;
  // Listen addresses first, its WebRTC address (signaling) and circuits after them.
  const all = [...found.addresses, ...found.relayAddresses].sort(
    (x, y) => Number(x.transport === 'webrtc') - Number(y.transport === 'webrtc'),
  );
  for (const a of all) cm.addAddress(peer, a);
  return all.length > 0;
}

/** The manager as the protocols see it: a dial by PeerId with no known address asks the DHT. */
export function resolvingDialer(
  cm: ConnectionManager,
  c: {
    running: () => boolean;
    locate: (peer: PeerId, options?: AbortOptions) => Promise<boolean>;
  },
): PortManager {
  const dial = async (target: PeerId | Address, options?: AbortOptions): Promise<Connection> => {
    try {
      return await cm.dial(target, options);
    } catch (err) {
      if ('transport' in target || err instanceof AbortError || !c.running()) throw err;
      if (!(await c.locate(target, options))) throw err;
      return cm.dial(target, options);
    }
  };
  return {
    start: () => cm.start(),
    stop: () => cm.stop(),
    addresses: () => cm.addresses(),
    dial,
    connections: (peer) => cm.connections(peer),
    handle: (p, h) => cm.handle(p, h),
    unhandle: (p) => cm.unhandle(p),
    addAddress: (peer, a) => cm.addAddress(peer, a),
    on: (event, fn) => cm.on(event, fn),
  };
}

/**
 * Connects to an address or a PeerId (found in the DHT first).
 *
 * @throws {PeerUnreachableError} when no connection could be made
 * @throws {AbortError} when `options.signal` aborts
 */
export async function connectTo(
  c: {
    dht: NodeDht;
    connections: ConnectionManager;
    dpeers: Dpeers;
    emit: Emit;
    onHandshakeFailure: () => void;
  },
  target: PeerId | Address | string,
  options: AbortOptions = {},
): Promise<PeerId> {
  let t: PeerId | Address;
  if (typeof target === 'string')
    t = target.startsWith('/') ? parseAddress(target) : peerIdFromString(target);
  else t = target;
  if (!('transport' in t) && c.connections.connections(t).length === 0) {
    await locate(c.dht, c.connections, t, options); // a PeerId: find where it is first
  }
  let conn: Connection;
  try {
    conn = await c.connections.dial(t, options);
  } catch (err) {
    if (err instanceof HandshakeError || (err as Error).cause instanceof HandshakeError)
      c.onHandshakeFailure();
    if (err instanceof AbortError || err instanceof PeerUnreachableError) throw err;
    throw new PeerUnreachableError(t.toString(), { cause: err });
  }
  if ('transport' in t && t.peer === undefined) {
    c.emit('peer:discovered', {
      peer: conn.remotePeer,
      addresses: [t.toString()],
      source: 'manual',
    });
  }
  c.dpeers.addAddresses(conn.remotePeer, [conn.remoteAddress], 'manual');
  return conn.remotePeer;
}

/** `peer`'s presence as dialable address texts (remembered by the manager), or `undefined`. */
export async function findPeerAddresses(
  dht: NodeDht,
  cm: ConnectionManager,
  peer: PeerId,
  options: AbortOptions | undefined,
  emit: Emit,
): Promise<string[] | undefined> {
  const found = await dht.findPeer(peer, options);
  if (found === undefined) return undefined;
  const text = peer.toString();
  const all = [...found.addresses, ...found.relayAddresses].map((a) =>
    a.peer === undefined && a.relay === undefined ? withPeer(a, text) : a,
  );
  for (const a of all) cm.addAddress(peer, a);
  if (all.length > 0) emit('peer:discovered', { peer, addresses: all.map(String), source: 'dht' });
  return all.map(String);
}
