// Storage quotas of the record store: records and bytes attributed to each peer (the one that
// delivered them) and held in all.
import { QuotaExceededError } from '../errors.js';

/** Storage quotas. */
export interface RecordQuotas {
  /** Most records attributed to one peer (the one that delivered them). */
  maxRecordsPerPeer: number;
  /** Most bytes (encoded envelopes) attributed to one peer. */
  maxBytesPerPeer: number;
  /** Most records held in all. */
  maxRecords: number;
  /** Most bytes held in all. */
  maxBytes: number;
}

/** The owner of records this node published or loaded from its own store: no per-peer quota. */
export const SELF = 'self';

/** What the ledger needs of a held record. */
interface Entry {
  readonly owner: string;
  readonly bytes: number;
}

export class QuotaLedger {
  readonly #quotas: RecordQuotas;
  readonly #perOwner = new Map<string, { records: number; bytes: number }>();
  #bytes = 0;

  constructor(quotas: RecordQuotas) {
    this.#quotas = quotas;
  }

  /** Bytes held in all. */
  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#perOwner.clear();
    this.#bytes = 0;
  }

  /** Records and bytes attributed to `owner`. */
  usage(owner: string): { records: number; bytes: number } {
    return { ...(this.#perOwner.get(owner) ?? { records: 0, bytes: 0 }) };
  }

  /**
   * Checks that `owner` may have a record of `bytes` held in place of `existing` (the version
   * held now, if any), with `records` held in all.
   *
   * @throws {QuotaExceededError} when `owner` or the node would go over quota
   */
  check(owner: string, bytes: number, existing: Entry | undefined, records: number): void {
    const delta = bytes - (existing?.bytes ?? 0);
    if (owner !== SELF) {
      const sameOwner = existing !== undefined && existing.owner === owner;
      const use = this.#perOwner.get(owner) ?? { records: 0, bytes: 0 };
      if (
        use.records + (sameOwner ? 0 : 1) > this.#quotas.maxRecordsPerPeer ||
        use.bytes + (sameOwner ? delta : bytes) > this.#quotas.maxBytesPerPeer
      ) {
        throw new QuotaExceededError('The peer is over its storage quota');
      }
    }
    if (
      (existing === undefined && records + 1 > this.#quotas.maxRecords) ||
      this.#bytes + delta > this.#quotas.maxBytes
    ) {
      throw new QuotaExceededError('The node is over its storage quota');
    }
  }

  add(e: Entry): void {
    this.#bytes += e.bytes;
    const use = this.#perOwner.get(e.owner) ?? { records: 0, bytes: 0 };
    use.records++;
    use.bytes += e.bytes;
    this.#perOwner.set(e.owner, use);
  }

  remove(e: Entry): void {
    this.#bytes -= e.bytes;
    const use = this.#perOwner.get(e.owner);
    if (use === undefined) return;
    use.records--;
    use.bytes -= e.bytes;
    if (use.records <= 0) this.#perOwner.delete(e.owner);
  }
}
