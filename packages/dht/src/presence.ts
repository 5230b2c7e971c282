// Presence (seed 001): a record `/presence/<PeerId bytes>` → Presence {addresses, relay
// addresses, seq}, published by the peer itself, refreshed every `presenceRefreshMs`, and
// withdrawn on stop by a record with a higher seq and no addresses.
import type { PeerId, Timer } from '@detr/interface';
import { Presence } from '@detr/protocol';
import type { Ctx } from './context.js';
import { presenceKey } from './records/validators.js';
import { parseAddressList, parsePeerCached } from './rpc/peers.js';
import type { AnnounceOptions, PeerPresence } from './types.js';
import type { DhtValue } from './types.js';

export type Publish = (
  key: Uint8Array,
  value: Uint8Array,
  options: { seq: number; ttlSec: number; signal?: AbortSignal | undefined },
) => Promise<unknown>;

export class Announcer {
  readonly #ctx: Ctx;
  readonly #publish: Publish;
  #options: AnnounceOptions | undefined;
  #timer: Timer | undefined;
  #seq = 0;

  constructor(ctx: Ctx, publish: Publish) {
    this.#ctx = ctx;
    this.#publish = publish;
  }

  get active(): boolean {
    return this.#options !== undefined;
  }

  async announce(options: AnnounceOptions): Promise<void> {
    this.#options = { addresses: options.addresses, relayAddresses: options.relayAddresses };
    this.#timer?.cancel();
    this.#timer = undefined;
    try {
      await this.#send(options.signal);
    } finally {
      this.#schedule();
    }
  }

  #schedule(): void {
    const ctx = this.#ctx;
    if (!ctx.running || this.#options === undefined) return;
    this.#timer = ctx.clock.setTimeout(() => {
      this.#timer = undefined;
      if (!ctx.running || this.#options === undefined) return;
      void this.#send(undefined)
        .catch((err: unknown) => ctx.log.debug({ err }, 'dht: presence refresh failed'))
        .finally(() => this.#schedule());
    }, ctx.cfg.presenceRefreshMs);
  }

  async #send(signal: AbortSignal | undefined, withdraw = false): Promise<void> {
    const ctx = this.#ctx;
    const o = this.#options ?? {};
    const addresses = withdraw ? [] : (o.addresses ?? ctx.network.listenAddresses());
    const relays = withdraw ? [] : (o.relayAddresses ?? []);
    this.#seq = Math.max(ctx.clock.now(), this.#seq + 1);
    const value = Presence.encode({
      peer: ctx.self.bytes,
      addresses: addresses.slice(0, 32).map(String),
      relayAddresses: relays.slice(0, 32).map(String),
      seq: this.#seq,
      ttlSec: ctx.cfg.presenceTtlSec,
      networkId: ctx.cfg.networkId,
    });
    await this.#publish(presenceKey(ctx.self.bytes), value, {
      seq: this.#seq,
      ttlSec: ctx.cfg.presenceTtlSec,
      signal,
    });
  }

  /** Publishes the withdrawal (no addresses, higher seq) if an announcement is active. */
  async withdraw(signal: AbortSignal): Promise<void> {
    if (this.#options === undefined) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    try {
      await this.#send(signal, true);
    } finally {
      this.#options = undefined;
    }
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#options = undefined;
  }
}

/** The presence carried by a (validated) presence record; `undefined` when withdrawn. */
export function presenceOf(ctx: Ctx, peer: PeerId, v: DhtValue): PeerPresence | undefined {
  const p = Presence.decode(v.value);
  const samePeer = parsePeerCached(ctx.peerIds, p.peer);
  if (samePeer === undefined || !samePeer.equals(peer)) return undefined;
  const addresses = parseAddressList(p.addresses);
  const relayAddresses = parseAddressList(p.relayAddresses);
  if (addresses.length === 0 && relayAddresses.length === 0) return undefined;
  return {
    peer,
    addresses,
    relayAddresses,
    seq: v.seq,
    expiresAtMs: v.expiresAtMs,
    lookup: v.lookup,
  };
}
