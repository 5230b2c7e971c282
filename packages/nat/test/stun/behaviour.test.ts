import { afterEach, describe, expect, it } from '@jest/globals';
import { discoverNatBehaviour } from '../../src/stun/behaviour.js';
import { openStunSocket } from '../../src/stun/client.js';
import { StunError } from '../../src/errors.js';
import { startFakeStun, type FakeStun } from './fake-server.js';

const servers: FakeStun[] = [];
const start = async (...args: Parameters<typeof startFakeStun>): Promise<FakeStun> => {
  const s = await startFakeStun(...args);
  servers.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const at = (s: FakeStun) => ({ host: '127.0.0.1', port: s.port });

describe('STUN client', () => {
  it('gets its own endpoint back from a real binding on 127.0.0.1', async () => {
    const srv = await start();
    const sock = await openStunSocket('127.0.0.1');
    try {
      const r = await sock.binding(at(srv));
      expect(r.mapped).toEqual({ address: '127.0.0.1', port: sock.local.port, family: 4 });
    } finally {
      sock.close();
    }
  });

  it('retransmits and then fails with StunError when nobody answers', async () => {
    const srv = await start({ raw: () => undefined });
    const sock = await openStunSocket('127.0.0.1');
    try {
      await expect(sock.binding(at(srv), { timeoutMs: 900 })).rejects.toBeInstanceOf(StunError);
      expect(srv.requests).toBeGreaterThanOrEqual(3);
    } finally {
      sock.close();
    }
  });

  it('ignores answers with another transaction id, and garbage', async () => {
    const srv = await start({
      raw: (req) => {
        const r = Buffer.from(req);
        r.writeUInt16BE(0x0101, 0);
        r[19] = (r[19] as number) ^ 1;
        return r;
      },
    });
    const stats = { ignored: 0 };
    const sock = await openStunSocket('127.0.0.1', stats);
    try {
      await expect(sock.binding(at(srv), { timeoutMs: 400 })).rejects.toBeInstanceOf(StunError);
      expect(stats.ignored).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  });

  it('aborts a transaction with AbortError and rejects pending ones on close', async () => {
    const srv = await start({ raw: () => undefined });
    const sock = await openStunSocket('127.0.0.1');
    const ac = new AbortController();
    const p = sock.binding(at(srv), { signal: ac.signal, timeoutMs: 5000 });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const q = sock.binding(at(srv), { timeoutMs: 5000 });
    sock.close();
    await expect(q).rejects.toBeInstanceOf(StunError);
  });
});

describe('discoverNatBehaviour', () => {
  it('reports no NAT when the mapped endpoint is our own', async () => {
    const [a, b] = [await start({ rfc5780: true }), await start()];
    const r = await discoverNatBehaviour([at(a), at(b)], { bindAddress: '127.0.0.1' });
    expect(r.mapping).toBe('none');
    expect(r.filtering).toBe('endpoint-independent');
  });

  it('tells endpoint-independent from endpoint-dependent mapping', async () => {
    const fixed = await start({ mapped: () => ({ address: '198.51.100.7', port: 40000 }) });
    const same = await start({ mapped: () => ({ address: '198.51.100.7', port: 40000 }) });
    const other = await start({ mapped: () => ({ address: '198.51.100.7', port: 40001 }) });
    expect(
      (await discoverNatBehaviour([at(fixed), at(same)], { bindAddress: '127.0.0.1' })).mapping,
    ).toBe('endpoint-independent');
    expect(
      (await discoverNatBehaviour([at(fixed), at(other)], { bindAddress: '127.0.0.1' })).mapping,
    ).toBe('endpoint-dependent');
    expect((await discoverNatBehaviour([at(fixed)], { bindAddress: '127.0.0.1' })).mapping).toBe(
      'unknown',
    );
  });

  it('classifies filtering from which CHANGE-REQUESTs get through', async () => {
    const mapped = () => ({ address: '198.51.100.7', port: 40000 });
    const run = async (answer: (c: { ip: boolean; port: boolean }) => boolean) =>
      (
        await discoverNatBehaviour(
          [at(await start({ mapped, rfc5780: true, answerChange: answer }))],
          { bindAddress: '127.0.0.1', filteringTimeoutMs: 300 },
        )
      ).filtering;
    expect(await run(() => true)).toBe('endpoint-independent');
    expect(await run((c) => !c.ip)).toBe('address-dependent');
    expect(await run(() => false)).toBe('address-and-port-dependent');
    const plain = await start({ mapped });
    expect((await discoverNatBehaviour([at(plain)], { bindAddress: '127.0.0.1' })).filtering).toBe(
      'unknown',
    );
  });

  it('fails with StunError when the first server never answers', async () => {
    const dead = await start({ raw: () => undefined });
    await expect(
      discoverNatBehaviour([at(dead)], { bindAddress: '127.0.0.1', timeoutMs: 300 }),
    ).rejects.toBeInstanceOf(StunError);
    await expect(discoverNatBehaviour([])).rejects.toBeInstanceOf(StunError);
  });
});
