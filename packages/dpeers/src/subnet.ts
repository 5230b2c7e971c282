// IP grouping for the per-IP and per-subnet connection limits: an IPv4 address groups by /24, an
// IPv6 address by /48, an IPv4-mapped IPv6 address as the IPv4 address it maps.
import { isIPv4, isIPv6 } from 'node:net';
import type { Address } from '@detr/interface';

/** What the IP and subnet limits count an address under. */
export interface IpGroup {
  /** Canonical IP text (IPv6 expanded, lower case). */
  ip: string;
  /** `a.b.c/24` or `xxxx:xxxx:xxxx/48`. */
  subnet: string;
  loopback: boolean;
}

/** The eight 16-bit groups of an IPv6 address, or undefined. */
export function expandIPv6(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const o = last.split('.').map(Number);
    tail = [((o[0] ?? 0) << 8) | (o[1] ?? 0), ((o[2] ?? 0) << 8) | (o[3] ?? 0)];
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = s.split('::');
  const parse = (p: string): number[] => (p === '' ? [] : p.split(':').map((h) => parseInt(h, 16)));
  const a = parse(head);
  const b = rest === undefined ? [] : parse(rest);
  const fill = 8 - a.length - b.length;
  const groups = rest === undefined ? a : [...a, ...new Array<number>(fill).fill(0), ...b];
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  return groups.length === 8 ? groups : undefined;
}

/**
 * The IP and subnet of an address, or undefined for addresses without one (memory, relayed).
 *
 * @example
 * ```ts
 * ipGroup(parseAddress('/ip4/203.0.113.7/tcp/1')) // { ip: '203.0.113.7', subnet: '203.0.113/24', loopback: false }
 * ```
 */
export function ipGroup(address: Address): IpGroup | undefined {
  if (address.relay !== undefined || address.family === 0) return undefined;
  const host = address.host;
  if (address.family === 4 && isIPv4(host)) {
    const o = host.split('.');
    return { ip: host, subnet: `${o[0]}.${o[1]}.${o[2]}/24`, loopback: o[0] === '127' };
  }
  const g = expandIPv6(host);
  if (g === undefined) return undefined;
  // ::ffff:a.b.c.d is an IPv4 address.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const v4 = [(g[6] ?? 0) >> 8, (g[6] ?? 0) & 0xff, (g[7] ?? 0) >> 8, (g[7] ?? 0) & 0xff];
    return { ip: v4.join('.'), subnet: `${v4[0]}.${v4[1]}.${v4[2]}/24`, loopback: v4[0] === 127 };
  }
  const hex = g.map((x) => x.toString(16).padStart(4, '0'));
  return {
    ip: hex.join(':'),
    subnet: `${hex.slice(0, 3).join(':')}/48`,
    loopback: g.slice(0, 7).every((x) => x === 0) && g[7] === 1,
  };
}
