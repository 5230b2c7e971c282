import type { Address } from './address.js';
import type { AbortOptions } from './lifecycle.js';
import type { PeerId } from './peer-id.js';

/** A record read from {@link SharedRecords}: its signature and validator already checked. */
export interface SharedRecord {
  readonly value: Uint8Array;
  /** Sequence number: a higher one replaces a lower one. */
  readonly seq: number;
  /** The Ed25519 public key that signed it. */
  readonly publisher: Uint8Array;
}

/** Options of {@link SharedRecords.put}. */
export interface SharedRecordPutOptions extends AbortOptions {
  /** Sequence number (a higher one replaces a lower one). */
  seq?: number;
  /** Lifetime in the store. */
  ttlSec?: number;
  /** Keep republishing it while the node runs. */
  republish?: boolean;
}

/**
 * The network's shared store of signed records (the DHT), as seen by a service of the same layer
 * that must not import it (`@detr/nat` signals through it when two peers share no connection).
 * `@detr/dht`'s `Dht` satisfies it; `@detr/node` passes it in. Keys are namespaced
 * (`/<namespace>/…`) and each namespace has a validator registered with the store, which decides
 * who may publish under a key.
 *
 * @example
 * ```ts
 * await records.put(key, value, { seq: Date.now(), ttlSec: 60, republish: false })
 * const r = await records.get(key) // { value, seq, publisher } | undefined
 * ```
 */
export interface SharedRecords {
  /** Signs `value` with the local identity and stores it under `key`. */
  put(key: Uint8Array, value: Uint8Array, options?: SharedRecordPutOptions): Promise<unknown>;
  /** The valid record with the highest seq under `key`, if any. */
  get(key: Uint8Array, options?: AbortOptions): Promise<SharedRecord | undefined>;
}

/** Where a peer says it can be reached (its presence). */
export interface PeerLocation {
  readonly addresses: readonly Address[];
  /** Circuit addresses through relays that hold a reservation for the peer. */
  readonly relayAddresses: readonly Address[];
}

/**
 * Finds where a peer can be reached (DHT presence). `@detr/dht`'s `Dht` satisfies it.
 *
 * @example
 * ```ts
 * const where = await routing.findPeer(peer, { signal })
 * ```
 */
export interface PeerRouting {
  findPeer(peer: PeerId, options?: AbortOptions): Promise<PeerLocation | undefined>;
}
