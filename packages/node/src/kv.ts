// INTERIM DHT until @detr/dht lands: a peer-replicated key-value store over the services
// protocol. put() keeps the record and pushes it to every connected peer; get() answers from
// the local copy or asks connected peers. Records carry a TTL and are bounded in size and count.
// It gives the node's `dht.put/get`, presence (announce/findPeer) and offline mailboxes a working
// backend on small networks; it is not Kademlia.
import { parseAddress, type AbortOptions, type Address, type PeerId } from '@detr/interface';
import type { DhtPort } from './ports.js';
import type { Services } from './services.js';
import type { ConnectionManager } from './ports.js';

export const KV_SERVICE = 'detr.kv';

interface Rec {
  value: Uint8Array;
  expiresAtMs: number;
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

/** Request: op(1) | keyLen(2) | key | ttlSec(4) | value. op 1 = put, 2 = get, 3 = delete. */
function encodeOp(
  op: number,
  key: Uint8Array,
  ttlSec = 0,
  value: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = Buffer.alloc(7 + key.length + value.length);
  out[0] = op;
  out.writeUInt16BE(key.length, 1);
  Buffer.from(key).copy(out, 3);
  out.writeUInt32BE(ttlSec, 3 + key.length);
  Buffer.from(value).copy(out, 7 + key.length);
  return out;
}

function decodeOp(b: Uint8Array): {
  op: number;
  key: Uint8Array;
  ttlSec: number;
  value: Uint8Array;
} {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 7) throw new RangeError('short kv request');
  const keyLen = buf.readUInt16BE(1);
  if (keyLen < 1 || keyLen > 256 || buf.length < 7 + keyLen) throw new RangeError('bad kv key');
  return {
    op: buf[0] as number,
    key: buf.subarray(3, 3 + keyLen),
    ttlSec: buf.readUInt32BE(3 + keyLen),
    value: buf.subarray(7 + keyLen),
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
  const store = (key: Uint8Array, value: Uint8Array, ttlSec: number): void => {
    if (value.length > maxValue) throw new RangeError('value too large');
    const k = hex(key);
    records.delete(k);
    if (value.length === 0) return; // an empty value deletes (tombstone)
    records.set(k, {
      value: Uint8Array.from(value),
      expiresAtMs: c.now() + Math.min(ttlSec || defaultTtl, 7 * 86_400) * 1000,
    });
    while (records.size > maxRecords) {
      const oldest = records.keys().next().value;
      if (oldest === undefined) break;
      records.delete(oldest);
    }
  };
  const lookup = (key: Uint8Array): Uint8Array | undefined => {
    const r = records.get(hex(key));
    if (r === undefined) return undefined;
    if (r.expiresAtMs <= c.now()) {
      records.delete(hex(key));
      return undefined;
    }
    return r.value;
  };
  const presenceKey = (peer: PeerId): Uint8Array =>
    Buffer.concat([Buffer.from('/presence/'), peer.bytes]);
  const kv = {
    start(): void {
      c.services.handle(KV_SERVICE, (data) => {
        const { op, key, ttlSec, value } = decodeOp(data);
        if (op === 1) {
          store(key, value, ttlSec);
          return new Uint8Array(0);
        }
        if (op === 2) {
          const v = lookup(key);
          return v === undefined ? new Uint8Array(0) : Buffer.concat([Buffer.from([1]), v]);
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
      store(key, value, ttl);
      const req = encodeOp(1, key, ttl, value);
      await Promise.allSettled(
        c.connections
          .connections()
          .map((conn) =>
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
      const local = lookup(key);
      if (local !== undefined) return local;
      const req = encodeOp(2, key);
      const answers = await Promise.allSettled(
        c.connections
          .connections()
          .map((conn) =>
            c.services.request(conn.remotePeer, KV_SERVICE, req, {
              relay: false,
              timeoutMs: 5000,
              ...(options.signal ? { signal: options.signal } : {}),
            }),
          ),
      );
      for (const a of answers) {
        if (a.status === 'fulfilled' && a.value.length > 0 && a.value[0] === 1)
          return a.value.subarray(1);
      }
      return undefined;
    },
    async announce(options: AbortOptions = {}): Promise<void> {
      const addrs = c.connections.addresses().map((a) => a.toString());
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
