import { describe, expect, it } from '@jest/globals';
import { createSeededRng, parseAddress } from '@detr/interface';
import { DhtStatus, type DhtRequest } from '@detr/protocol';
import { DhtTimeoutError, DhtUnreachableError } from '../../src/errors.js';
import { createSimClock } from '../../src/sim/clock.js';
import { createSimNetwork } from '../../src/sim/network.js';
import { identity } from '../support/fixtures.js';

const ping = (id = 1): DhtRequest => ({
  requestId: id,
  senderAddresses: [],
  body: 'ping',
  ping: {},
});

describe('SimClock', () => {
  it('runs timers in order and lets promise chains settle between instants', async () => {
    const clock = createSimClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('b'), 20);
    clock.setTimeout(() => {
      seen.push('a');
      void Promise.resolve().then(() => clock.setTimeout(() => seen.push('a2'), 0));
    }, 10);
    const c = clock.setTimeout(() => seen.push('never'), 15);
    c.cancel();
    await clock.run(100);
    expect(seen).toEqual(['a', 'a2', 'b']);
    expect(clock.now()).toBe(100);
    expect(clock.pending()).toBe(0);
    const p = new Promise<number>((r) => clock.setTimeout(() => r(clock.now()), 5000));
    expect(await clock.runUntil(p)).toBe(5100);
    await expect(clock.runUntil(new Promise(() => {}), 10)).rejects.toThrow(/pending/);
  });
});

describe('SimNetwork', () => {
  const setup = (lossRate = 0, encode = false) => {
    const clock = createSimClock(0);
    const net = createSimNetwork({ clock, rng: createSeededRng(5), lossRate, encode });
    const a = identity().peerId;
    const b = identity().peerId;
    const aAddr = parseAddress('/ip4/10.0.0.1/tcp/1');
    const bAddr = parseAddress('/ip4/10.0.0.2/tcp/1');
    const ea = net.endpoint(a, aAddr);
    const eb = net.endpoint(b, bAddr);
    eb.setHandler((inbound) =>
      Promise.resolve({
        requestId: inbound.request.requestId,
        status: DhtStatus.DHT_STATUS_OK,
        closerPeers: [],
        error: inbound.peer.toString(),
      }),
    );
    return { clock, net, a, b, aAddr, bAddr, ea, eb };
  };

  it('delivers a request and its response after the link latency, with the sender authenticated', async () => {
    for (const encode of [false, true]) {
      const { clock, net, a, b, bAddr, ea } = setup(0, encode);
      const start = clock.now();
      const reply = await clock.runUntil(
        ea.request({ peer: b, addresses: [bAddr] }, ping(), { timeoutMs: 1000 }),
      );
      expect(reply.peer.equals(b)).toBe(true);
      expect(reply.response.error).toBe(a.toString());
      expect(clock.now() - start).toBeGreaterThanOrEqual(10); // two one-way latencies of ≥ 5 ms
      expect(net.stats.requests).toBe(1);
      if (encode) expect(net.stats.bytes).toBeGreaterThan(0);
    }
  });

  it('times out on a dead node, an unknown address, or loss; fails fast on the wrong identity', async () => {
    const { clock, net, b, bAddr, ea } = setup();
    net.kill(b);
    expect(net.alive(b)).toBe(false);
    await expect(
      clock.runUntil(ea.request({ peer: b, addresses: [bAddr] }, ping(), { timeoutMs: 500 })),
    ).rejects.toThrow(DhtTimeoutError);
    await expect(
      clock.runUntil(
        ea.request({ addresses: [parseAddress('/ip4/10.9.9.9/tcp/1')] }, ping(), {
          timeoutMs: 500,
        }),
      ),
    ).rejects.toThrow(DhtTimeoutError);
    const other = setup();
    const stranger = identity().peerId;
    await expect(
      other.clock.runUntil(
        other.ea.request({ peer: stranger, addresses: [other.bAddr] }, ping(), { timeoutMs: 500 }),
      ),
    ).rejects.toThrow(DhtUnreachableError);
    const lossy = setup(1);
    await expect(
      lossy.clock.runUntil(
        lossy.ea.request({ peer: lossy.b, addresses: [lossy.bAddr] }, ping(), { timeoutMs: 500 }),
      ),
    ).rejects.toThrow(DhtTimeoutError);
    expect(lossy.net.stats.lost).toBe(1);
    expect(() => lossy.net.endpoint(identity().peerId, lossy.bAddr)).toThrow(/taken/);
  });

  it('uses per-link overrides', async () => {
    const { clock, net, a, b, bAddr, ea } = setup();
    net.setLink(a, b, { latencyMs: 300 });
    net.setLink(b, a, { latencyMs: 300 });
    const t0 = clock.now();
    await clock.runUntil(ea.request({ peer: b, addresses: [bAddr] }, ping(), { timeoutMs: 1000 }));
    expect(clock.now() - t0).toBe(600);
    net.remove(b);
    await expect(
      clock.runUntil(ea.request({ peer: b, addresses: [bAddr] }, ping(), { timeoutMs: 100 })),
    ).rejects.toThrow(DhtTimeoutError);
  });
});
