// Builds a real lab (root, iproute2, iptables, coturn), checks it with raw node-datachannel peers,
// and checks that every namespace and process is gone afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { attempt, startAgent, type Agent } from '../src/driver.js';
import {
  cleanupStaleLabs,
  createLab,
  listLabNamespaces,
  turnRestCredential,
  type Lab,
} from '../src/lab.js';
import { labGate } from '../src/sys.js';

const maybe = labGate('the NAT lab tests (tools/natlab)') ? describe : describe.skip;

maybe('the NAT lab', () => {
  let lab: Lab;
  const agents = new Map<string, Agent>();
  const stunOnly = (): unknown[] => [{ hostname: lab.turn.listen[0], port: lab.turn.port }];
  const withTurn = (): unknown[] => {
    const c = turnRestCredential(lab.turn.secret, 'test', 600);
    return [
      ...stunOnly(),
      {
        hostname: lab.turn.listen[0],
        port: lab.turn.port,
        username: c.username,
        password: c.password,
        relayType: 'TurnUdp',
      },
    ];
  };

  beforeAll(async () => {
    lab = await createLab({
      sites: ['port-restricted', 'port-restricted', 'symmetric', 'symmetric'],
      publicHosts: 0,
    });
    // site0/site1 port-restricted, site2/site3 symmetric. Each site gets a STUN-only agent and a
    // STUN+TURN agent (two processes in one namespace).
    await Promise.all(
      lab.hosts.flatMap((h) => [
        startAgent(lab, h, 'raw-agent.ts', { bindAddress: h.address, iceServers: stunOnly() }).then(
          (a) => agents.set(`${h.name}/stun`, a),
        ),
        startAgent(lab, h, 'raw-agent.ts', { bindAddress: h.address, iceServers: withTurn() }).then(
          (a) => agents.set(`${h.name}/turn`, a),
        ),
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await lab?.close();
  });

  const get = (name: string): Agent => agents.get(name) as Agent;

  it('connects port-restricted ↔ port-restricted directly through both NATs (STUN only)', async () => {
    const r = await attempt(get('site0/stun'), get('site1/stun'), {
      policy: 'all',
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ ok: true, path: 'direct' });
    expect(r.local).toMatch(/^srflx 203\.0\.113\.100:/);
    expect(r.remote).toMatch(/^srflx 203\.0\.113\.101:/);
  });

  it('blocks port-restricted ↔ symmetric without TURN (the NATs really filter)', async () => {
    const r = await attempt(get('site0/stun'), get('site2/stun'), {
      policy: 'all',
      timeoutMs: 4_000,
    });
    expect(r.ok).toBe(false);
  });

  it('relays symmetric ↔ symmetric through coturn on its relay address', async () => {
    const r = await attempt(get('site2/turn'), get('site3/turn'), {
      policy: 'relay',
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ ok: true, path: 'relayed' });
    expect(r.local).toMatch(/^relay 203\.0\.113\.11:/);
  });

  it('connects symmetric ↔ symmetric with policy "all" too (through TURN)', async () => {
    const r = await attempt(get('site2/turn'), get('site3/turn'), {
      policy: 'all',
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ ok: true, path: 'relayed' });
  });

  it('leaves nothing behind after close', async () => {
    const mine = lab.plan.namespaces;
    expect(listLabNamespaces()).toEqual(expect.arrayContaining([...mine]));
    await Promise.all([...agents.values()].map((a) => a.stop()));
    agents.clear();
    await lab.close();
    expect(listLabNamespaces().filter((n) => mine.includes(n))).toEqual([]);
    const turns = execFileSync('sh', ['-c', `pgrep -f "${lab.dir}/[t]urndb" || true`], {
      encoding: 'utf8',
    });
    expect(turns.trim()).toBe('');
  });
});

maybe('cleanupStaleLabs', () => {
  it('removes the namespaces of a dead run, and only those', () => {
    const dead = spawnSync('true').pid;
    const stale = `detrlab-${dead}-zz99-x`;
    const alive = `detrlab-${process.pid}-zz98-x`;
    execFileSync('ip', ['netns', 'add', stale]);
    execFileSync('ip', ['netns', 'add', alive]);
    try {
      const removed = cleanupStaleLabs();
      expect(removed).toContain(stale);
      expect(removed).not.toContain(alive);
      expect(listLabNamespaces()).not.toContain(stale);
      expect(listLabNamespaces()).toContain(alive);
    } finally {
      execFileSync('ip', ['netns', 'del', alive]);
      spawnSync('ip', ['netns', 'del', stale]);
    }
  });
});
