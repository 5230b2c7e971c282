// Address groups for IP-diversity limits: an IPv4 /24 or an IPv6 /48.
import { isIPv6 } from 'node:net';
import type { Address } from '@detr/interface';

function expandIPv6(host: string): string[] | undefined {
  if (!isIPv6(host)) return undefined;
  let h = host;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4 !== null) {
    const p = (v4[1] as string).split('.').map(Number);
    h =
      h.slice(0, -(v4[1] as string).length) +
      `${(((p[0] as number) << 8) | (p[1] as number)).toString(16)}:` +
      `${(((p[2] as number) << 8) | (p[3] as number)).toString(16)}`;
  }
  const [head, tail] = h.split('::') as [string, string | undefined];
  const a = head === '' ? [] : head.split(':');
  const b = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - a.length - b.length).fill('0');
  return [...a, ...fill, ...b].map((g) => g.padStart(4, '0').toLowerCase());
}

/** True for addresses that never count against diversity limits: loopback and in-process. */
export function isLoopback(address: Address): boolean {
  if (address.transport === 'memory' || address.family === 0) return true;
  if (address.family === 4) return address.host.startsWith('127.');
  const g = expandIPv6(address.host);
  if (g === undefined) return false;
  if (g.every((x, i) => (i < 7 ? x === '0000' : x === '0001'))) return true;
  // ::ffff:127.x.y.z
  return (
    g.slice(0, 5).every((x) => x === '0000') && g[5] === 'ffff' && g[6]?.startsWith('7f') === true
  );
}

/**
 * The diversity group of an address: `"4:a.b.c"` for an IPv4 /24, `"6:xxxx:xxxx:xxxx"` for an
 * IPv6 /48; a relayed address counts as its relay's group.
 *
 * @example
 * ```ts
 * subnetOf(parseAddress('/ip4/203.0.113.7/tcp/4001')) // '4:203.0.113'
 * ```
 */
export function subnetOf(address: Address): string {
  const a = address.relay ?? address;
  if (a.family === 4) return `4:${a.host.slice(0, a.host.lastIndexOf('.'))}`;
  if (a.family === 6) {
    const g = expandIPv6(a.host);
    if (g !== undefined) return `6:${g.slice(0, 3).join(':')}`;
  }
  return `${a.transport}:${a.host}`;
}
