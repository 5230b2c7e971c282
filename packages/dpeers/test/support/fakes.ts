// Test doubles: PeerIds (until @detr/aecomms is wired in, and to keep these tests independent of
// it) and connections that record how they were closed.
import { createHash } from 'node:crypto';
import {
  parseAddress,
  type Address,
  type Connection,
  type Direction,
  type PeerId,
} from '@detr/interface';

const cache = new Map<string, PeerId>();

/** A deterministic PeerId whose text form is `peer<hex>`. */
export function fakePeerId(n: number | string): PeerId {
  const publicKey = new Uint8Array(createHash('sha256').update(String(n)).digest());
  const text = `peer${Buffer.from(publicKey).toString('hex').slice(0, 24)}`;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const bytes = new Uint8Array([0x01, ...publicKey]);
  const id: PeerId = {
    type: 'Ed25519',
    publicKey,
    bytes,
    toString: () => text,
    equals: (o) => o.toString() === text,
  };
  cache.set(text, id);
  return id;
}

/** Parses what {@link fakePeerId} printed. */
export function fakePeerIdFromString(text: string): PeerId {
  const hit = cache.get(text);
  if (hit === undefined) throw new TypeError(`unknown fake peer id ${text}`);
  return hit;
}

export interface FakeConnection extends Connection {
  closedWith: 'close' | 'abort' | undefined;
  abortError: Error | undefined;
  /** Simulates the remote or the manager closing it. */
  finish(): void;
}

let seq = 0;
export function fakeConnection(
  peer: PeerId,
  direction: Direction,
  remote: string | Address = '/ip4/203.0.113.1/tcp/4001',
  options: { closeHangs?: boolean } = {},
): FakeConnection {
  const listeners: Array<(err?: Error) => void> = [];
  let status: Connection['status'] = 'open';
  const done = (err?: Error): void => {
    if (status === 'closed') return;
    status = 'closed';
    for (const l of listeners.splice(0)) l(err);
  };
  const c: FakeConnection = {
    id: `c${++seq}`,
    remotePeer: peer,
    remote: { peer, protocolVersion: 1, features: [], networkId: '00' },
    remoteAddress: typeof remote === 'string' ? parseAddress(remote) : remote,
    direction,
    transport: 'tcp',
    get status() {
      return status;
    },
    closedWith: undefined,
    abortError: undefined,
    newStream: () => Promise.reject(new Error('not in this fake')),
    streams: () => [],
    stats: () => ({ bytesSent: 0, bytesReceived: 0, streamsOpened: 0, rttMs: undefined }),
    setIdleTimeout: () => {},
    close(opts) {
      c.closedWith ??= 'close';
      status = 'closing';
      if (options.closeHangs === true) {
        return new Promise((_, reject) =>
          opts?.signal?.addEventListener('abort', () => reject(new Error('close timed out'))),
        );
      }
      done();
      return Promise.resolve();
    },
    abort(err) {
      c.closedWith ??= 'abort';
      c.abortError = err;
      done(err);
    },
    onClose(l) {
      if (status === 'closed') l();
      else listeners.push(l);
    },
    finish: () => done(),
  };
  return c;
}
