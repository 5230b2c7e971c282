// A test double of connections between in-process peers: each Connection's newStream gives a
// duplex pair, whose far end goes to the remote's handler for that protocol. No mux, no crypto —
// nat's protocols are tested on top; the real transports are exercised in the lab tests.
import type { Connection, PeerId, Stream, StreamHandler } from '@detr/interface';
import { ClosedError, parseAddress, StreamResetError, UnknownProtocolError } from '@detr/interface';
import { createIdentity } from '@detr/aecomms';
import type { Duplex } from 'node:stream';
import { duplexPair } from './duplex-pair.js';

export interface FakePeer {
  readonly peerId: PeerId;
  readonly handlers: Map<string, StreamHandler>;
  readonly conns: Connection[];
  connections(peer?: PeerId): readonly Connection[];
}

export function fakePeer(): FakePeer {
  const peerId = createIdentity().peerId;
  const conns: Connection[] = [];
  return {
    peerId,
    handlers: new Map(),
    conns,
    connections: (peer) =>
      conns.filter((c) => c.status === 'open' && (peer === undefined || c.remotePeer.equals(peer))),
  };
}

let nextId = 1;

function asStream(d: Duplex, protocol: string, direction: 'inbound' | 'outbound'): Stream {
  const s = d as Stream & {
    id: number;
    protocol: string;
    direction: string;
    unidirectional: boolean;
  };
  Object.assign(s, { id: nextId++, protocol, direction, unidirectional: false });
  (s as { reset: (e?: Error) => void }).reset = (err?: Error) => {
    if (!d.destroyed) d.destroy(err ?? new StreamResetError('reset', false));
  };
  d.on('error', () => {});
  return s;
}

/**
 * Connects `a` and `b`; returns [a's connection to b, b's connection to a]. `addresses` are where
 * each side sees the other (default `/memory/fake`).
 */
export function connect(
  a: FakePeer,
  b: FakePeer,
  addresses: { a?: string; b?: string } = {},
): [Connection, Connection] {
  const make = (
    remote: FakePeer,
    direction: 'inbound' | 'outbound',
    seenAt: string,
  ): Connection => {
    const streams = new Set<Stream>();
    const listeners: Array<(err?: Error) => void> = [];
    const conn: Connection & { status: Connection['status']; peerConn?: Connection } = {
      id: `fake-${nextId++}`,
      remotePeer: remote.peerId,
      remote: { peer: remote.peerId, protocolVersion: 1, features: [], networkId: '00' },
      remoteAddress: parseAddress(seenAt),
      direction,
      transport: 'memory',
      status: 'open',
      newStream(protocol): Promise<Stream> {
        if (conn.status !== 'open') return Promise.reject(new ClosedError());
        const handler = remote.handlers.get(protocol);
        const [mine, theirs] = duplexPair();
        const out = asStream(mine, protocol, 'outbound');
        if (handler === undefined) {
          queueMicrotask(() => out.destroy(new UnknownProtocolError(protocol)));
          return Promise.resolve(out);
        }
        const inbound = asStream(theirs, protocol, 'inbound');
        streams.add(out);
        out.once('close', () => streams.delete(out));
        const remoteConn = conn.peerConn;
        queueMicrotask(() => {
          if (remoteConn === undefined) return;
          Promise.resolve(handler(inbound, remoteConn)).catch((err: Error) => inbound.reset(err));
        });
        return Promise.resolve(out);
      },
      streams: () => [...streams],
      stats: () => ({ bytesSent: 0, bytesReceived: 0, streamsOpened: 0, rttMs: undefined }),
      setIdleTimeout: () => {},
      close() {
        conn.abort();
        return Promise.resolve();
      },
      abort(err?: Error) {
        if (conn.status === 'closed') return;
        conn.status = 'closed';
        for (const s of streams) s.destroy(err);
        for (const l of listeners.splice(0)) l(err);
        conn.peerConn?.abort(err);
      },
      onClose(l) {
        if (conn.status === 'closed') l();
        else listeners.push(l);
      },
    };
    return conn;
  };
  const ab = make(b, 'outbound', addresses.b ?? '/memory/fake');
  const ba = make(a, 'inbound', addresses.a ?? '/memory/fake');
  (ab as { peerConn?: Connection }).peerConn = ba;
  (ba as { peerConn?: Connection }).peerConn = ab;
  a.conns.push(ab);
  b.conns.push(ba);
  return [ab, ba];
}
