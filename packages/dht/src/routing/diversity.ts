// IP diversity of the routing table: at most `maxPerSubnetPerBucket` peers of one IPv4 /24 (IPv6
// /48) in a bucket and `maxPerSubnet` in the whole table; loopback and in-process addresses are
// exempt unless `limitLoopback`.
import type { Address } from '@detr/interface';
import { groupOf, type Contact } from './contact.js';

/** IP-diversity limits; `false` disables them. */
export interface IpDiversityInit {
  /** Most peers of one /24 (IPv6 /48) in one bucket. @default 2 */
  maxPerSubnetPerBucket?: number;
  /** Most peers of one /24 (IPv6 /48) in the whole table. @default 3 */
  maxPerSubnet?: number;
  /** Apply the limits to loopback and in-process addresses too. @default false */
  limitLoopback?: boolean;
}

/** Counts the table's peers per diversity group and says when one more would break a limit. */
export class SubnetLimits {
  readonly #limits: Required<IpDiversityInit> | false;
  readonly #counts = new Map<string, number>();

  constructor(limits: Required<IpDiversityInit> | false) {
    this.#limits = limits;
  }

  /** The diversity group of an address, or `undefined` when exempt (or limits are off). */
  groupOf(address: Address): string | undefined {
    const d = this.#limits;
    if (d === false) return undefined;
    const g = groupOf(address);
    return !d.limitLoopback && g.loopback ? undefined : g.subnet;
  }

  /** Which limit a newcomer of group `subnet` into `bucket` would break, if any. */
  refusal(
    subnet: string | undefined,
    bucket: readonly Contact[],
  ): 'subnet-table' | 'subnet-bucket' | undefined {
    const d = this.#limits;
    if (subnet === undefined || d === false) return undefined;
    if ((this.#counts.get(subnet) ?? 0) >= d.maxPerSubnet) return 'subnet-table';
    let inBucket = 0;
    for (const c of bucket) if (c.subnet === subnet) inBucket++;
    return inBucket >= d.maxPerSubnetPerBucket ? 'subnet-bucket' : undefined;
  }

  added(c: Contact): void {
    if (c.subnet !== undefined) this.#counts.set(c.subnet, (this.#counts.get(c.subnet) ?? 0) + 1);
  }

  removed(c: Contact): void {
    if (c.subnet === undefined) return;
    const n = (this.#counts.get(c.subnet) ?? 1) - 1;
    if (n <= 0) this.#counts.delete(c.subnet);
    else this.#counts.set(c.subnet, n);
  }
}
