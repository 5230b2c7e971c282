// The gate's lists: authorized peer sets by epoch (commonware's oracle), protection tags, and
// open connections counted per IP and per /24 (IPv4) or /48 (IPv6).
import type { PeerId } from '@detr/interface';
import type { IpGroup } from './subnet.js';

/** The authorized sets of the most recent `tracked` epochs; none means open admission. */
export class AuthorizedSets {
  private sets: Array<{ epoch: number; ids: Set<string> }> = [];

  constructor(private readonly tracked: number) {}

  has(id: string): boolean {
    return this.sets.length === 0 || this.sets.some((s) => s.ids.has(id));
  }

  /**
   * Sets epoch `epoch`'s peers (the same epoch replaces its set).
   *
   * @throws {RangeError} for an invalid epoch or one older than the latest
   */
  set(epoch: number, peers: readonly PeerId[]): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new RangeError('epoch must be a non-negative integer');
    const latest = this.sets.at(-1)?.epoch;
    if (latest !== undefined && epoch < latest) {
      throw new RangeError(`epoch ${epoch} is older than the latest authorized set's (${latest})`);
    }
    const ids = new Set(peers.map((p) => p.toString()));
    if (latest === epoch) this.sets[this.sets.length - 1] = { epoch, ids };
    else this.sets.push({ epoch, ids });
    if (this.sets.length > this.tracked)
      this.sets = this.sets.slice(this.sets.length - this.tracked);
  }

  clear(): void {
    this.sets = [];
  }
}

/** Protection tags per peer id: a protected peer's connections are never pruned. */
export class Protections {
  private readonly tags = new Map<string, Set<string>>();

  add(id: string, tag: string): void {
    let tags = this.tags.get(id);
    if (tags === undefined) this.tags.set(id, (tags = new Set()));
    tags.add(tag);
  }

  delete(id: string, tag: string): void {
    const tags = this.tags.get(id);
    if (tags === undefined) return;
    tags.delete(tag);
    if (tags.size === 0) this.tags.delete(id);
  }

  of(id: string): string[] {
    return [...(this.tags.get(id) ?? [])];
  }

  has(id: string): boolean {
    return this.tags.has(id);
  }
}

/** Open connections per IP address and per subnet. */
export class IpCounts {
  private readonly perIp = new Map<string, number>();
  private readonly perSubnet = new Map<string, number>();

  ip(g: IpGroup): number {
    return this.perIp.get(g.ip) ?? 0;
  }

  subnet(g: IpGroup): number {
    return this.perSubnet.get(g.subnet) ?? 0;
  }

  add(g: IpGroup): void {
    this.perIp.set(g.ip, (this.perIp.get(g.ip) ?? 0) + 1);
    this.perSubnet.set(g.subnet, (this.perSubnet.get(g.subnet) ?? 0) + 1);
  }

  remove(g: IpGroup): void {
    const ip = (this.perIp.get(g.ip) ?? 1) - 1;
    if (ip <= 0) this.perIp.delete(g.ip);
    else this.perIp.set(g.ip, ip);
    const sn = (this.perSubnet.get(g.subnet) ?? 1) - 1;
    if (sn <= 0) this.perSubnet.delete(g.subnet);
    else this.perSubnet.set(g.subnet, sn);
  }
}
