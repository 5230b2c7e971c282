// An in-process network for the DHT: endpoints addressed like real nodes, one-way latency per
// link (from virtual coordinates, or set per link), independent loss of requests and responses,
// nodes killed without warning, and optionally every message through the wire codec. Time is a
// SimClock; randomness a seeded Rng: a run is reproducible.
import type { Address, PeerId, Rng } from '@detr/interface';
import { DhtRequest, DhtResponse } from '@detr/protocol';
import { DhtTimeoutError, DhtUnreachableError } from '../errors.js';
import type { DhtNetwork, RpcHandler, RpcReply, RpcTarget } from '../rpc/network.js';
import type { SimClock } from './clock.js';

export type { SimClock } from './clock.js';
export { createSimClock } from './clock.js';

/** A directed link's properties. */
export interface SimLink {
  /** One-way latency. */
  latencyMs: number;
  /** Probability that a message on it is lost. */
  lossRate: number;
}

/** Options of {@link createSimNetwork}. */
export interface SimNetworkInit {
  clock: SimClock;
  rng: Rng;
  /** Loss probability of every message unless a link says otherwise. @default 0 */
  lossRate?: number;
  /** Smallest one-way latency (two nodes at the same virtual spot). @default 5 */
  minLatencyMs?: number;
  /** Added latency across the whole virtual plane. @default 100 */
  spreadLatencyMs?: number;
  /** Encode and decode every message with the wire codec (slower, checks encodability). @default false */
  encode?: boolean;
}

/** Counters of a simulated network. */
export interface SimNetworkStats {
  requests: number;
  responses: number;
  lost: number;
  /** Messages addressed to dead or unknown nodes. */
  undeliverable: number;
  /** Bytes on the wire (only with `encode`). */
  bytes: number;
}

/** An in-process network of DHT endpoints. */
export interface SimNetwork {
  /**
   * A new endpoint for `peer`, reachable at `address`.
   *
   * @throws {Error} when another endpoint has that address
   */
  endpoint(peer: PeerId, address: Address): DhtNetwork;
  /** Stops every message to and from `peer` at once, without warning (requests to it time out). */
  kill(peer: PeerId): void;
  /** True if `peer` has a live endpoint. */
  alive(peer: PeerId): boolean;
  /** Removes `peer`'s endpoint (its address becomes free). */
  remove(peer: PeerId): void;
  /** Overrides the link from `a` to `b`. */
  setLink(a: PeerId, b: PeerId, link: Partial<SimLink>): void;
  /**
   * Sets the loss probability of every link without an override.
   *
   * @throws {RangeError} unless `rate` is in [0, 1]
   */
  setLossRate(rate: number): void;
  readonly stats: SimNetworkStats;
}

interface Node {
  peer: PeerId;
  address: Address;
  addressText: string;
  x: number;
  y: number;
  dead: boolean;
  handler: RpcHandler | undefined;
}

/**
 * Creates a simulated network.
 *
 * @example
 * ```ts
 * const clock = createSimClock()
 * const net = createSimNetwork({ clock, rng: createSeededRng(1), lossRate: 0.01 })
 * const dht = createDht({ network: net.endpoint(peer, address), clock, ... }, init)
 * ```
 */
export function createSimNetwork(init: SimNetworkInit): SimNetwork {
  const { clock, rng } = init;
  let lossRate = init.lossRate ?? 0;
  const minLatency = init.minLatencyMs ?? 5;
  const spread = init.spreadLatencyMs ?? 100;
  const byAddress = new Map<string, Node>();
  const byPeer = new Map<string, Node>();
  const links = new Map<string, Partial<SimLink>>();
  const stats: SimNetworkStats = { requests: 0, responses: 0, lost: 0, undeliverable: 0, bytes: 0 };
  const peerKey = (p: PeerId): string =>
    Buffer.from(p.publicKey.buffer, p.publicKey.byteOffset, 32).toString('latin1');

  const link = (a: Node, b: Node): SimLink => {
    const o = links.size === 0 ? undefined : links.get(peerKey(a.peer) + peerKey(b.peer));
    const dx = a.x - b.x;
    const dy = a.y - b.y;
    return {
      latencyMs: o?.latencyMs ?? minLatency + spread * Math.sqrt((dx * dx + dy * dy) / 2),
      lossRate: o?.lossRate ?? lossRate,
    };
  };

  const copyRequest = (r: DhtRequest): DhtRequest => {
    const bytes = DhtRequest.encode(r);
    stats.bytes += bytes.length;
    return DhtRequest.decode(bytes);
  };
  const copyResponse = (r: DhtResponse): DhtResponse => {
    const bytes = DhtResponse.encode(r);
    stats.bytes += bytes.length;
    return DhtResponse.decode(bytes);
  };

  const network: SimNetwork = {
    stats,
    endpoint(peer, address) {
      const text = address.toString();
      if (byAddress.has(text)) throw new Error(`address ${text} is taken`);
      const me: Node = {
        peer,
        address,
        addressText: text,
        x: rng.random(),
        y: rng.random(),
        dead: false,
        handler: undefined,
      };
      byAddress.set(text, me);
      byPeer.set(peerKey(peer), me);
      const listen = [address];
      return {
        listenAddresses: () => listen,
        setHandler(h) {
          me.handler = h;
        },
        request(target: RpcTarget, request: DhtRequest, { timeoutMs }): Promise<RpcReply> {
          return new Promise<RpcReply>((resolve, reject) => {
            let done = false;
            const timer = clock.setTimeout(() => {
              if (done) return;
              done = true;
              reject(new DhtTimeoutError());
            }, timeoutMs);
            let dest: Node | undefined;
            for (const a of target.addresses) {
              dest = byAddress.get(a.toString());
              if (dest !== undefined) break;
            }
            stats.requests++;
            if (dest === undefined || dest.dead || me.dead) {
              stats.undeliverable++;
              return;
            }
            const d = dest;
            const out = link(me, d);
            if (out.lossRate > 0 && rng.random() < out.lossRate) {
              stats.lost++;
              return;
            }
            if (target.peer !== undefined && !target.peer.equals(d.peer)) {
              // The handshake proves another identity: the dial fails after one round trip.
              clock.setTimeout(() => {
                if (done) return;
                done = true;
                timer.cancel();
                reject(new DhtUnreachableError('Another peer answered'));
              }, 2 * out.latencyMs);
              return;
            }
            const sent = init.encode === true ? copyRequest(request) : request;
            clock.setTimeout(() => {
              const h = d.handler;
              if (d.dead || me.dead || h === undefined) {
                stats.undeliverable++;
                return;
              }
              void h({ peer: me.peer, address: me.address, request: sent }).then(
                (response) => {
                  if (response === undefined || d.dead || me.dead) return;
                  stats.responses++;
                  const back = link(d, me);
                  if (back.lossRate > 0 && rng.random() < back.lossRate) {
                    stats.lost++;
                    return;
                  }
                  const got = init.encode === true ? copyResponse(response) : response;
                  clock.setTimeout(() => {
                    if (done || me.dead) return;
                    done = true;
                    timer.cancel();
                    resolve({ peer: d.peer, address: d.address, response: got });
                  }, back.latencyMs);
                },
                () => undefined,
              );
            }, out.latencyMs);
          });
        },
      };
    },
    kill(peer) {
      const n = byPeer.get(peerKey(peer));
      if (n !== undefined) n.dead = true;
    },
    alive(peer) {
      const n = byPeer.get(peerKey(peer));
      return n !== undefined && !n.dead;
    },
    remove(peer) {
      const n = byPeer.get(peerKey(peer));
      if (n === undefined) return;
      n.dead = true;
      byPeer.delete(peerKey(peer));
      if (byAddress.get(n.addressText) === n) byAddress.delete(n.addressText);
    },
    setLink(a, b, l) {
      links.set(peerKey(a) + peerKey(b), l);
    },
    setLossRate(rate) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError('rate must be in [0, 1]');
      lossRate = rate;
    },
  };
  return network;
}
