import { describe, expect, it } from '@jest/globals';
import { GATEWAY, NS_PATTERN, natRules, planLab } from '../src/plan.js';

const DOC_RANGE = /^(203\.0\.113|198\.51\.100)\.[0-9]{1,3}(\/[0-9]+)?$/;

describe('planLab', () => {
  const plan = planLab({ runId: 'ab12', pid: 4242 });

  it('names every namespace after the pid and run id, uniquely', () => {
    expect(new Set(plan.namespaces).size).toBe(plan.namespaces.length);
    for (const ns of plan.namespaces) {
      expect(ns).toMatch(NS_PATTERN);
      expect(ns.startsWith('detrlab-4242-ab12-')).toBe(true);
    }
    const ids = new Set(Array.from({ length: 20 }, () => planLab().runId));
    expect(ids.size).toBeGreaterThan(15);
  });

  it('runs every command inside its own namespaces, never in the host namespace', () => {
    const commands = plan.phases.flat(2);
    expect(commands.length).toBeGreaterThan(50);
    for (const argv of commands) {
      const [tool, a, b, c] = argv;
      expect(tool).toBe('ip');
      if (a === 'netns' && b === 'add') expect(plan.namespaces).toContain(c);
      else if (a === 'netns' && b === 'exec') expect(plan.namespaces).toContain(c);
      else {
        expect(a).toBe('-n');
        expect(plan.namespaces).toContain(b);
      }
      // Links are only ever created inside a lab namespace, peers moved into lab namespaces.
      const netnsArg = argv.indexOf('netns', 3);
      if (argv.includes('veth')) expect(plan.namespaces).toContain(argv[netnsArg + 1]);
    }
  });

  it('uses documentation-range addresses only', () => {
    const addresses = plan.phases
      .flat(2)
      .flatMap((argv) => argv.filter((x) => /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/.test(x)));
    expect(addresses.length).toBeGreaterThan(10);
    for (const a of addresses) expect(a).toMatch(DOC_RANGE);
    for (const h of plan.hosts) {
      expect(h.address).toMatch(DOC_RANGE);
      expect(h.publicAddress).toMatch(/^203\.0\.113\./);
    }
    expect(plan.turn.relayIp).not.toBe(plan.turn.listen[0]);
    expect(plan.turn.relayIp).not.toBe(plan.turn.listen[1]);
    expect(GATEWAY).toBe('203.0.113.1');
  });

  it('puts two sites of each kind behind their own NAT box (open sites have none)', () => {
    const sites = plan.hosts.filter((h) => h.name.startsWith('site'));
    expect(sites.map((h) => h.kind)).toEqual([
      'open',
      'open',
      'full-cone',
      'full-cone',
      'port-restricted',
      'port-restricted',
      'symmetric',
      'symmetric',
    ]);
    for (const h of sites) {
      if (h.kind === 'open') {
        expect(h.natNs).toBeUndefined();
        expect(h.address).toBe(h.publicAddress);
      } else {
        expect(plan.namespaces).toContain(h.natNs);
        expect(h.address).toMatch(/^198\.51\.100\./);
      }
    }
    expect(new Set(plan.hosts.map((h) => h.publicAddress)).size).toBe(plan.hosts.length);
  });

  it('rejects impossible plans', () => {
    expect(() => planLab({ sites: new Array(16).fill('open') })).toThrow(RangeError);
    expect(() => planLab({ publicHosts: -1 })).toThrow(RangeError);
    expect(() => planLab({ runId: 'Bad/Id' })).toThrow(RangeError);
  });
});

describe('natRules', () => {
  const text = (k: Parameters<typeof natRules>[0]): string =>
    natRules(k, '198.51.100.2')
      .map((r) => r.join(' '))
      .join('\n');

  it('drops NEW inbound to every NAT box itself (simultaneous hole punching needs it)', () => {
    for (const k of ['full-cone', 'port-restricted', 'symmetric'] as const) {
      expect(text(k)).toContain('-A INPUT -i eth0 -m conntrack --ctstate NEW -j DROP');
      expect(text(k)).toContain('-t nat -A POSTROUTING -o eth0 -j MASQUERADE');
    }
  });

  it('randomizes ports only for symmetric, forwards unsolicited UDP only for full-cone', () => {
    expect(text('symmetric')).toContain('--random-fully');
    expect(text('port-restricted')).not.toContain('--random-fully');
    expect(text('full-cone')).toContain('DNAT --to-destination 198.51.100.2');
    expect(text('port-restricted')).toContain(
      '-A FORWARD -i eth0 -m conntrack --ctstate NEW,INVALID -j DROP',
    );
    expect(text('symmetric')).not.toContain('DNAT');
  });
});
