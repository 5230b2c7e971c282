import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createIdentity } from '@detr/aecomms';
import { createMemoryStore } from '@detr/stored';
import {
  createOffline,
  MAILBOX_SLOTS,
  mailboxKey,
  mailboxValidator,
  senderSlots,
  type MailboxRecords,
} from '../src/offline/mailbox.js';
import { openOffline, sealOffline } from '../src/offline/seal.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('offline mailbox records', () => {
  const alice = createIdentity();
  const bob = createIdentity();
  const mallory = createIdentity();
  const v = mailboxValidator({ maxBytes: 4096, maxTtlSec: 3600 });
  const sealed = sealOffline(alice.peerId, bob.peerId, 'c', enc('hi'), Date.now() + 60_000);
  const own = senderSlots(alice.peerId.bytes, bob.peerId.bytes);
  const other = Array.from({ length: MAILBOX_SLOTS }, (_, i) => i).find((i) => !own.includes(i))!;
  const rec = (slot: number, value: Uint8Array, publisher: Uint8Array, ttlSec = 60) => ({
    key: mailboxKey(bob.peerId, slot),
    value,
    ttlSec,
    publisher,
  });

  it('accepts a sealed message from its sender in its own slots, and the recipient’s tombstone', () => {
    expect(own).toHaveLength(2);
    for (const s of own) expect(v.validate(rec(s, sealed, alice.peerId.publicKey))).toBe(true);
    expect(v.validate(rec(own[0]!, new Uint8Array(0), bob.peerId.publicKey))).toBe(true);
  });

  it('refuses another signer, another slot, a tombstone by anyone but the recipient, size and TTL over the limits', () => {
    expect(v.validate(rec(own[0]!, sealed, mallory.peerId.publicKey))).toBe(false);
    expect(v.validate(rec(other, sealed, alice.peerId.publicKey))).toBe(false);
    expect(v.validate(rec(own[0]!, new Uint8Array(0), alice.peerId.publicKey))).toBe(false);
    expect(v.validate(rec(own[0]!, sealed, alice.peerId.publicKey, 3601))).toBe(false);
    const small = mailboxValidator({ maxBytes: 16, maxTtlSec: 3600 });
    expect(small.validate(rec(own[0]!, sealed, alice.peerId.publicKey))).toBe(false);
    // A message addressed to someone else, put into bob's mailbox.
    const forMallory = sealOffline(alice.peerId, mallory.peerId, 'c', enc('x'), Date.now() + 1000);
    expect(v.validate(rec(own[0]!, forMallory, alice.peerId.publicKey))).toBe(false);
    expect(() => mailboxKey(bob.peerId, MAILBOX_SLOTS)).toThrow(RangeError);
  });

  it('never throws on arbitrary keys and values (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 512 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (key, value, publisher) => {
          expect(typeof v.validate({ key, value, ttlSec: 60, publisher })).toBe('boolean');
          expect(
            typeof v.validate({
              key: mailboxKey(bob.peerId, key.length % MAILBOX_SLOTS),
              value,
              ttlSec: 60,
              publisher,
            }),
          ).toBe('boolean');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('only the recipient opens a sealed message', () => {
    expect(dec(openOffline(bob, sealed, Date.now())!.data)).toBe('hi');
    expect(openOffline(mallory, sealed, Date.now())).toBeUndefined();
    expect(openOffline(bob, sealed, Date.now() + 120_000)).toBeUndefined(); // expired
  });
});

describe('createOffline over a records double', () => {
  /** A record store with the DHT's seq rule and validator, in memory. */
  function records(): MailboxRecords & { map: Map<string, { value: Uint8Array; seq: number }> } {
    const map = new Map<string, { value: Uint8Array; seq: number }>();
    return {
      map,
      put(key, value, o = {}) {
        const k = Buffer.from(key).toString('hex');
        const seq = o.seq ?? Date.now();
        const cur = map.get(k);
        if (cur !== undefined && cur.seq >= seq) return Promise.reject(new Error('stale-seq'));
        map.set(k, { value, seq });
        return Promise.resolve();
      },
      get(key) {
        const r = map.get(Buffer.from(key).toString('hex'));
        return Promise.resolve(
          r === undefined || r.value.length === 0
            ? undefined
            : { ...r, expiresAtMs: Date.now() + 60_000 },
        );
      },
    };
  }

  it('stores in the sender’s slots, delivers once, tombstones, and reports a full mailbox', async () => {
    const alice = createIdentity();
    const bob = createIdentity();
    const r = records();
    const store = createMemoryStore();
    await store.start();
    const sender = createOffline({ records: r, identity: alice, now: Date.now, deliver: () => {} });
    const got: string[] = [];
    const receiver = createOffline({
      records: r,
      identity: bob,
      store,
      now: Date.now,
      deliver: (m) => got.push(dec(m.data)),
    });
    // Concurrent stores to one recipient: each takes its own slot (none replaces another).
    const results = await Promise.all(
      ['one', 'two', 'three'].map((t) => sender.store(bob.peerId, 'c', enc(t))),
    );
    expect(results).toEqual([true, true, false]); // its 2 slots are taken
    expect(sender.stats().mailboxFull).toBe(1);
    expect((await receiver.fetch()).length).toBe(2);
    expect(got.sort()).toEqual(['one', 'two']);
    expect(receiver.stats().deleted).toBe(2);
    expect([...r.map.values()].every((x) => x.value.length === 0)).toBe(true);
    expect(await receiver.fetch()).toEqual([]);
    // The tombstones free the slots for the next message.
    expect(await sender.store(bob.peerId, 'c', enc('three'))).toBe(true);
    await receiver.fetch();
    expect(got.sort()).toEqual(['one', 'three', 'two']);
    await store.stop();
  });
});
