// INTERIM DHT until @detr/dht lands: a peer-replicated key-value store over the services
// protocol. put() keeps the record and pushes it to every connected peer; get() answers from
// the local copy or asks connected peers. Records carry a TTL and are bounded in size and count.
// It gives the node's `dht.put/get`, presence (announce/findPeer) and offline mailboxes a working
// backend on small networks; it is not Kademlia.
import {
  parseAddress,
  withPeer,
  type AbortOptions,
  type Address,
  type PeerId,
} from '@detr/interface';
import type { DhtPort } from './ports.js';
import type { Services } from './services.js';
import type { ConnectionManager } from './ports.js';

export const KV_SERVICE = 'detr.kv';

interface Rec {
  value: Uint8Array;
  expiresAtMs: number;
  /** When the writer wrote it: the newest copy wins. */
  writtenAtMs: number;
}

export interface KvInit {
  /** @default 65536 */
  maxValueBytes?: number;
  /** @default 10000 */
  maxRecords?: number;
  /** @default 3600 */
  defaultTtlSec?: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Request: op(1) | keyLen(2) | key | ttlSec(4) | writtenAtMs(8, float) | value; op 1 = put,
 * 2 = get. Get answer: found(1) | writtenAtMs(8) | value.
 */
function encodeOp(
  op: number,
  key: Uint8Array,
  ttlSec = 0,
  writtenAtMs = 0,
  value: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = Buffer.alloc(15 + key.length + value.length);
  out[0] = op;
  out.writeUInt16BE(key.length, 1);
  Buffer.from(key).copy(out, 3);
  out.writeUInt32BE(ttlSec, 3 + key.length);
  out.writeDoubleBE(writtenAtMs, 7 + key.length);
  Buffer.from(value).copy(out, 15 + key.length);
  return out;
}

interface Op {
  op: number;
  key: Uint8Array;
  ttlSec: number;
  writtenAtMs: number;
  value: Uint8Array;
}

function decodeOp(b: Uint8Array): Op {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 15) throw new RangeError('short kv request');
  const keyLen = buf.readUInt16BE(1);
  if (keyLen < 1 || keyLen > 256 || buf.length < 15 + keyLen) throw new RangeError('bad kv key');
  const writtenAtMs = buf.readDoubleBE(7 + keyLen);
  if (!Number.isFinite(writtenAtMs) || writtenAtMs < 0) throw new RangeError('bad kv time');
  return {
    op: buf[0] as number,
    key: buf.subarray(3, 3 + keyLen),
    ttlSec: buf.readUInt32BE(3 + keyLen),
    writtenAtMs,
    value: buf.subarray(15 + keyLen),
  };
}

/**
 * The interim replicated KV as a {@link DhtPort}.
 *
 * @example
 * ```ts
 * const dht = createReplicatedKv({ services, connections, self: peerId, now: Date.now }, {})
 * ```
 */
export function createReplicatedKv(
  c: {
    services: Services;
    connections: ConnectionManager;
    self: PeerId;
    now: () => number;
    peerIdFromBytes: (b: Uint8Array) => PeerId;
  },
  init: KvInit = {},
): DhtPort & { stats(): { records: number; lookups: number } } {
  const maxValue = init.maxValueBytes ?? 65_536;
  const maxRecords = init.maxRecords ?? 10_000;
  const defaultTtl = init.defaultTtlSec ?? 3600;
  const records = new Map<string, Rec>();
  let lookups = 0;
  let lastWrite = 0;
  const store = (key: Uint8Array, value: Uint8Array, ttlSec: number, writtenAtMs: number): void => {
    if (value.length > maxValue) throw new RangeError('value too large');
    const k = hex(key);
    const old = records.get(k);
    if (old !== undefined && old.writtenAtMs > writtenAtMs) return; // an older write never wins
    records.delete(k);
    // An empty value is a tombstone: it hides older copies until it expires.
    records.set(k, {
      value: Uint8Array.from(value),
      writtenAtMs,
      expiresAtMs: c.now() + Math.min(ttlSec || defaultTtl, 7 * 86_400) * 1000,
    });
    while (records.size > maxRecords) {
      const oldest = records.keys().next().value;
      if (oldest === undefined) break;
      records.delete(oldest);
    }
  };
  const lookup = (key: Uint8Array): Rec | undefined => {
    const r = records.get(hex(key));
    if (r === undefined) return undefined;
    if (r.expiresAtMs <= c.now()) {
      records.delete(hex(key));
      return undefined;
    }
    return r;
  };
  const presenceKey = (peer: PeerId): Uint8Array =>
    Buffer.concat([Buffer.from('/presence/'), peer.bytes]);
  const kv = {
    start(): void {
      c.services.handle(KV_SERVICE, (data) => {
        const { op, key, ttlSec, writtenAtMs, value } = decodeOp(data);
        if (op === 1) {
          store(key, value, ttlSec, Math.min(writtenAtMs, c.now() + 60_000));
          return new Uint8Array(0);
        }
        if (op === 2) {
          const r = lookup(key);
          if (r === undefined) return new Uint8Array(0);
          const head = Buffer.alloc(9);
          head[0] = 1;
          head.writeDoubleBE(r.writtenAtMs, 1);
          return Buffer.concat([head, r.value]);
        }
        throw new RangeError('unknown kv op');
      });
    },
    stop(): void {
      c.services.unhandle(KV_SERVICE);
    },
    async put(
      key: Uint8Array,
      value: Uint8Array,
      options: { ttlSec?: number } & AbortOptions = {},
    ): Promise<void> {
      const ttl = options.ttlSec ?? defaultTtl;
      const at = Math.max(c.now(), lastWrite + 1);
      lastWrite = at;
      store(key, value, ttl, at);
      const req = encodeOp(1, key, ttl, at, value);
      await Promise.allSettled(
        c.connections.connections().map((conn) =>
          c.services.request(conn.remotePeer, KV_SERVICE, req, {
            relay: false,
            timeoutMs: 5000,
            ...(options.signal ? { signal: options.signal } : {}),
          }),
        ),
      );
    },
    async get(key: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
      lookups++;
      // Ask the local copy and every connected peer; the newest write wins.
      let best = lookup(key);
      const req = encodeOp(2, key);
      const answers = await Promise.allSettled(
        c.connections.connections().map((conn) =>
          c.services.request(conn.remotePeer, KV_SERVICE, req, {
            relay: false,
            timeoutMs: 5000,
            ...(options.signal ? { signal: options.signal } : {}),
          }),
        ),
      );
      for (const a of answers) {
        if (a.status !== 'fulfilled' || a.value.length < 9 || a.value[0] !== 1) continue;
        const at = Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength).readDoubleBE(
          1,
        );
        if (!Number.isFinite(at)) continue;
        if (best === undefined || at > best.writtenAtMs) {
          best = { value: a.value.subarray(9), writtenAtMs: at, expiresAtMs: Infinity };
        }
      }
      return best === undefined || best.value.length === 0 ? undefined : best.value;
    },
    async announce(options: AbortOptions = {}): Promise<void> {
      const self = c.self.toString();
      const addrs = c.connections
        .addresses()
        .map((a) => (a.peer === undefined ? withPeer(a, self) : a).toString());
      await kv.put(presenceKey(c.self), new TextEncoder().encode(JSON.stringify(addrs)), {
        ttlSec: 600,
        ...options,
      });
    },
    async findPeer(
      peer: PeerId,
      options: AbortOptions = {},
    ): Promise<readonly Address[] | undefined> {
      const v = await kv.get(presenceKey(peer), options);
      if (v === undefined) return undefined;
      try {
        const list = JSON.parse(new TextDecoder().decode(v)) as unknown;
        if (!Array.isArray(list)) return undefined;
        const out: Address[] = [];
        for (const t of list.slice(0, 32)) {
          try {
            const a = parseAddress(String(t));
            if (a.peer === peer.toString()) out.push(a);
          } catch {
            // skip malformed entries
          }
        }
        return out;
      } catch {
        return undefined;
      }
    },
    stats: () => ({ records: records.size, lookups }),
  };
  void c.peerIdFromBytes;
  return kv;
}
