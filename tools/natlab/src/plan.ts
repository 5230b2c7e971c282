// The lab's topology as data: namespaces, addresses and the commands that build them. Pure, so
// the rules (documentation-range addresses only, commands only inside the lab's namespaces) are
// unit-tested without root.

/** The NAT behaviours the lab builds. */
export type NatKind = 'open' | 'full-cone' | 'port-restricted' | 'symmetric';

/** Every kind, in the matrix's order. */
export const NAT_KINDS: readonly NatKind[] = ['open', 'full-cone', 'port-restricted', 'symmetric'];

/** The public segment (RFC 5737 TEST-NET-3) and the LAN range (TEST-NET-2, /28 per site). */
export const PUBLIC_NET = '203.0.113';
export const LAN_NET = '198.51.100';
/** The public segment's gateway (the bridge in the `pub` namespace; it forwards nothing). */
export const GATEWAY = `${PUBLIC_NET}.1`;

/** Namespace names start with this, then `<pid>-<run>-`; leftovers of dead pids are removed. */
export const NS_PREFIX = 'detrlab-';
export const NS_PATTERN = /^detrlab-([0-9]+)-([a-z0-9]+)-[a-z0-9]+$/;

export interface LabInit {
  /** The NAT kind of each site (one host behind one NAT box, or one open host). */
  sites?: readonly NatKind[];
  /** Extra hosts on the public segment (relays, bootstrap nodes). @default 1 */
  publicHosts?: number;
  /** Run id (lower-case letters and digits); random by default. */
  runId?: string;
  /** Process id recorded in the names (leftover detection). @default process.pid */
  pid?: number;
}

/** One host a peer runs on. */
export interface HostPlan {
  /** `site<k>` or `public<i>`. */
  readonly name: string;
  readonly kind: NatKind;
  /** Its network namespace. */
  readonly ns: string;
  /** The address it binds to. */
  readonly address: string;
  /** The address the public segment sees (its NAT box's WAN address, or its own). */
  readonly publicAddress: string;
  /** The NAT box namespace, if behind one. */
  readonly natNs?: string;
}

export interface TurnPlan {
  readonly ns: string;
  /** Two listening addresses (two STUN "servers" for mapping-behaviour tests). */
  readonly listen: readonly [string, string];
  /** The address relayed allocations use (not a listening one: coturn needs that). */
  readonly relayIp: string;
  readonly port: number;
}

export interface LabPlan {
  readonly runId: string;
  readonly pid: number;
  readonly pubNs: string;
  readonly hosts: readonly HostPlan[];
  readonly turn: TurnPlan;
  readonly namespaces: readonly string[];
  /** Phases of commands; the commands of one phase run in parallel per namespace group. */
  readonly phases: ReadonlyArray<ReadonlyArray<ReadonlyArray<readonly string[]>>>;
}

const DEFAULT_SITES: readonly NatKind[] = [
  'open',
  'open',
  'full-cone',
  'full-cone',
  'port-restricted',
  'port-restricted',
  'symmetric',
  'symmetric',
];

/** A fresh random run id: 4 base-36 characters. */
export function randomRunId(): string {
  return Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
}

/**
 * Plans a lab: a public bridge, a coturn host, one host per site (behind its own NAT box unless
 * open) and `publicHosts` extra public hosts.
 *
 * @throws {RangeError} for more than 15 sites or 50 public hosts, or a bad run id
 */
export function planLab(init: LabInit = {}): LabPlan {
  const sites = init.sites ?? DEFAULT_SITES;
  const publicHosts = init.publicHosts ?? 1;
  const runId = init.runId ?? randomRunId();
  const pid = init.pid ?? process.pid;
  if (sites.length > 15) throw new RangeError('at most 15 sites');
  if (!Number.isInteger(publicHosts) || publicHosts < 0 || publicHosts > 50) {
    throw new RangeError('publicHosts must be an integer in 0..50');
  }
  if (!/^[a-z0-9]{1,8}$/.test(runId)) throw new RangeError('runId: 1–8 of [a-z0-9]');
  const ns = (role: string): string => `${NS_PREFIX}${pid}-${runId}-${role}`;
  const pubNs = ns('pub');
  const turnNs = ns('turn');
  const hosts: HostPlan[] = [];
  const namespaces = [pubNs, turnNs];
  // Phase 1: namespaces. Phase 2: links (created inside namespaces, never in the host's).
  // Phase 3: addresses, routes, sysctls and iptables, in parallel per namespace.
  const links: string[][] = [['ip', '-n', pubNs, 'link', 'add', 'br0', 'type', 'bridge']];
  const config = new Map<string, string[][]>();
  const cfg = (space: string, ...cmds: string[][]): void => {
    const list = config.get(space) ?? [];
    list.push(...cmds);
    config.set(space, list);
  };
  const exec = (space: string, ...argv: string[]): string[] => [
    'ip',
    'netns',
    'exec',
    space,
    ...argv,
  ];
  const base = (space: string): void => {
    cfg(
      space,
      ['ip', '-n', space, 'link', 'set', 'lo', 'up'],
      exec(space, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1'),
      exec(space, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1'),
    );
  };
  let port = 0;
  const attach = (space: string, addresses: readonly string[]): void => {
    const p = `v${port++}`;
    links.push([
      'ip',
      '-n',
      pubNs,
      'link',
      'add',
      p,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      space,
    ]);
    links.push(['ip', '-n', pubNs, 'link', 'set', p, 'master', 'br0']);
    links.push(['ip', '-n', pubNs, 'link', 'set', p, 'up']);
    for (const a of addresses)
      cfg(space, ['ip', '-n', space, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    cfg(
      space,
      ['ip', '-n', space, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', space, 'route', 'add', 'default', 'via', GATEWAY],
    );
  };
  // The public segment's "internet": 203.0.113.1 on the bridge, not forwarding, so a packet to an
  // unroutable (private) address vanishes silently as on the real internet. Without a default route
  // a send to such an address fails at once with ENETUNREACH, and coturn then closes the whole
  // allocation (seen as CreatePermission 400s and symmetric↔symmetric failing with ICE policy 'all').
  base(pubNs);
  cfg(
    pubNs,
    ['ip', '-n', pubNs, 'addr', 'add', `${GATEWAY}/24`, 'dev', 'br0'],
    ['ip', '-n', pubNs, 'link', 'set', 'br0', 'up'],
  );

  const turn: TurnPlan = {
    ns: turnNs,
    listen: [`${PUBLIC_NET}.10`, `${PUBLIC_NET}.12`],
    relayIp: `${PUBLIC_NET}.11`,
    port: 3478,
  };
  base(turnNs);
  attach(turnNs, [turn.listen[0], turn.relayIp, turn.listen[1]]);

  sites.forEach((kind, k) => {
    const wan = `${PUBLIC_NET}.${100 + k}`;
    const hostNs = ns(`h${k}`);
    namespaces.push(hostNs);
    base(hostNs);
    if (kind === 'open') {
      attach(hostNs, [wan]);
      hosts.push({ name: `site${k}`, kind, ns: hostNs, address: wan, publicAddress: wan });
      return;
    }
    const natNs = ns(`n${k}`);
    namespaces.push(natNs);
    base(natNs);
    const gw = `${LAN_NET}.${16 * k + 1}`;
    const address = `${LAN_NET}.${16 * k + 2}`;
    attach(natNs, [wan]);
    links.push([
      'ip',
      '-n',
      natNs,
      'link',
      'add',
      'lan',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      hostNs,
    ]);
    cfg(
      natNs,
      ['ip', '-n', natNs, 'addr', 'add', `${gw}/28`, 'dev', 'lan'],
      ['ip', '-n', natNs, 'link', 'set', 'lan', 'up'],
      exec(natNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'),
      ...natRules(kind, address).map((r) => exec(natNs, 'iptables', ...r)),
    );
    cfg(
      hostNs,
      ['ip', '-n', hostNs, 'addr', 'add', `${address}/28`, 'dev', 'eth0'],
      ['ip', '-n', hostNs, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', hostNs, 'route', 'add', 'default', 'via', gw],
    );
    hosts.push({ name: `site${k}`, kind, ns: hostNs, address, publicAddress: wan, natNs });
  });
  for (let i = 0; i < publicHosts; i++) {
    const space = ns(`p${i}`);
    const address = `${PUBLIC_NET}.${200 + i}`;
    namespaces.push(space);
    base(space);
    attach(space, [address]);
    hosts.push({ name: `public${i}`, kind: 'open', ns: space, address, publicAddress: address });
  }
  return {
    runId,
    pid,
    pubNs,
    hosts,
    turn,
    namespaces,
    phases: [namespaces.map((n) => [['ip', 'netns', 'add', n]]), [links], [...config.values()]],
  };
}

/**
 * The iptables rules (arguments after `iptables`) of a NAT box of `kind` whose one LAN host is
 * `host`; the WAN interface is `eth0`.
 * - every kind masquerades out of the WAN and drops NEW inbound connections to the box itself
 *   (without that, Linux conntrack breaks simultaneous hole punching: docs/FACTS);
 * - full-cone: inbound UDP to any port is forwarded to the host (endpoint-independent filtering);
 * - port-restricted: only replies to what the host sent (conntrack filtering by address and port);
 * - symmetric: the same, and a fresh random port per destination (`--random-fully`).
 */
export function natRules(kind: Exclude<NatKind, 'open'>, host: string): string[][] {
  const rules: string[][] = [
    [
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-o',
      'eth0',
      '-j',
      'MASQUERADE',
      ...(kind === 'symmetric' ? ['--random-fully'] : []),
    ],
    ['-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'],
  ];
  if (kind === 'full-cone') {
    rules.push([
      '-t',
      'nat',
      '-A',
      'PREROUTING',
      '-i',
      'eth0',
      '-p',
      'udp',
      '-j',
      'DNAT',
      '--to-destination',
      host,
    ]);
  } else {
    rules.push([
      '-A',
      'FORWARD',
      '-i',
      'eth0',
      '-m',
      'conntrack',
      '--ctstate',
      'NEW,INVALID',
      '-j',
      'DROP',
    ]);
  }
  return rules;
}
