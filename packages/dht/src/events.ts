// The DHT's events: a record stored here by a peer, and a record addressed to this node.
import type { Logger, PeerId } from '@detr/interface';
import type { DhtRecordView } from './records/record.js';

/** Events of a {@link Dht}, with their payload. */
export interface DhtEvents {
  /**
   * A peer stored a record here that this node did not hold in that version (a new key, a
   * higher seq, or the same record with a later expiry).
   */
  'record:stored': { readonly record: DhtRecordView; readonly from: PeerId };
  /**
   * A record whose key names this node right after its namespace (`/<namespace>/<our PeerId
   * bytes>…`), published by another peer, arrived here in a new version (a new key or a higher
   * seq). With a namespace of `placement: 'peer'` this node is among the holders of every such
   * record, so it hears of each one while online and is sent them again when it rejoins.
   */
  'record:self': { readonly record: DhtRecordView; readonly from: PeerId };
}

/** A listener of event `E`. */
export type DhtListener<E extends keyof DhtEvents> = (event: DhtEvents[E]) => void;

export class DhtEmitter {
  readonly #listeners: { [E in keyof DhtEvents]: Set<DhtListener<E>> } = {
    'record:stored': new Set(),
    'record:self': new Set(),
  };
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  on<E extends keyof DhtEvents>(event: E, listener: DhtListener<E>): () => void {
    const set = this.#listeners[event] as Set<DhtListener<E>> | undefined;
    if (set === undefined) throw new TypeError(`Unknown event ${String(event)}`);
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  has(event: keyof DhtEvents): boolean {
    return this.#listeners[event].size > 0;
  }

  emit<E extends keyof DhtEvents>(event: E, payload: DhtEvents[E]): void {
    for (const l of this.#listeners[event] as Set<DhtListener<E>>) {
      try {
        l(payload);
      } catch (err) {
        this.#log.warn({ err, event }, 'dht: event listener threw');
      }
    }
  }
}
