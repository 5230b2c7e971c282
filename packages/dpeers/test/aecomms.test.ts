// With real PeerIds from @detr/aecomms (the default parser): entries and bans survive a restart.
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { peerIdFromPublicKey } from '@detr/aecomms';
import { createManualClock, parseAddress } from '@detr/interface';
import { createMemoryStore } from '@detr/stored';
import { createDpeers } from '../src/index.js';

describe('with @detr/aecomms PeerIds', () => {
  it('persists and reloads entries and bans using peerIdFromString by default', async () => {
    const clock = createManualClock();
    const store = createMemoryStore({ clock }, { sweepIntervalMs: 0 });
    await store.start();
    const good = peerIdFromPublicKey(new Uint8Array(randomBytes(32)));
    const bad = peerIdFromPublicKey(new Uint8Array(randomBytes(32)));
    const d1 = createDpeers({ store, clock });
    await d1.start();
    d1.addAddresses(good, [parseAddress(`/ip4/192.0.2.1/tcp/4001/p2p/${good.toString()}`)], 'dht');
    d1.ban(bad, { reason: 'test' });
    await d1.stop();
    const d2 = createDpeers({ store, clock });
    await d2.start();
    const info = d2.get(good);
    expect(info?.peer.equals(good)).toBe(true);
    expect(info?.addresses.map((a) => a.address.toString())).toEqual(['/ip4/192.0.2.1/tcp/4001']);
    expect(d2.isBanned(bad)).toBe(true);
    expect(
      d2
        .peers()
        .map((p) => p.peer.toString())
        .sort(),
    ).toEqual([bad.toString(), good.toString()].sort());
    await d2.stop();
    await store.stop();
  });
});
