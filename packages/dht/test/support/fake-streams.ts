// A test double of the transport's connection manager: in-process connections whose streams are
// Node duplex pairs. Enough to exercise the stream network's framing, timeouts and hostile input;
// the real TCP transport is exercised by the testnet.
import { Duplex } from 'node:stream';
import {
  parseAddress,
  type Address,
  type Connection,
  type PeerId,
  type Stream,
  type StreamHandler,
} from '@detr/interface';
import type { StreamDialer } from '../../src/rpc/stream-network.js';

class End extends Duplex implements Stream {
  other!: End;
  readonly unidirectional = false;
  constructor(
    readonly id: number,
    readonly protocol: string,
    readonly direction: 'inbound' | 'outbound',
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.other.push(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.other.push(null);
    cb();
  }
  override _read(): void {}
  reset(reason?: Error): void {
    this.destroy(reason);
    this.other.destroy(reason ?? new Error('reset'));
  }
}

export interface FakeNode {
  peer: PeerId;
  address: Address;
  networkId: string;
  handlers: Map<string, StreamHandler>;
  dialer: StreamDialer;
  /** Connections made: `remotePeer` of each. */
  dials: number;
}

/** A registry of fake nodes reachable by address. */
export function fakeStreams() {
  const byAddress = new Map<string, FakeNode>();
  let sid = 0;
  const connection = (
    from: FakeNode,
    to: FakeNode,
    direction: 'inbound' | 'outbound',
  ): Connection => {
    const conn: Connection = {
      id: `${from.address.toString()}->${to.address.toString()}`,
      remotePeer: to.peer,
      remote: { peer: to.peer, protocolVersion: 1, features: [], networkId: to.networkId },
      remoteAddress: to.address,
      direction,
      transport: 'memory',
      status: 'open',
      newStream(protocol: string) {
        const h = to.handlers.get(protocol);
        if (h === undefined) return Promise.reject(new Error(`unknown protocol ${protocol}`));
        const a = new End(++sid, protocol, 'outbound');
        const b = new End(sid, protocol, 'inbound');
        a.other = b;
        b.other = a;
        void Promise.resolve().then(() => h(b, connection(to, from, 'inbound')));
        return Promise.resolve(a);
      },
      streams: () => [],
      stats: () => ({ bytesSent: 0, bytesReceived: 0, streamsOpened: 0, rttMs: undefined }),
      setIdleTimeout: () => {},
      close: () => Promise.resolve(),
      abort: () => {},
      onClose: () => {},
    } as unknown as Connection;
    return conn;
  };
  return {
    node(peer: PeerId, address: string, networkId: string): FakeNode {
      const n: FakeNode = {
        peer,
        address: parseAddress(address),
        networkId,
        handlers: new Map(),
        dials: 0,
        dialer: {
          dial(target) {
            n.dials++;
            const a = target as Address;
            const base = a.toString().replace(/\/p2p\/[^/]+$/, '');
            const to = byAddress.get(base);
            if (to === undefined) return Promise.reject(new Error('connection refused'));
            if (a.peer !== undefined && a.peer !== to.peer.toString())
              return Promise.reject(new Error('unexpected peer'));
            return Promise.resolve(connection(n, to, 'outbound'));
          },
          handle: (protocol, handler) => n.handlers.set(protocol, handler),
          unhandle: (protocol) => n.handlers.delete(protocol),
          addresses: () => [n.address],
        },
      };
      byAddress.set(address, n);
      return n;
    },
  };
}
