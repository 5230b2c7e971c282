import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createManualClock, type ManualClock } from '@detr/interface';
import { SignedEnvelope } from '@detr/protocol';
import { createMemoryStore, type Store } from '@detr/stored';
import { InvalidRecordError, QuotaExceededError } from '../../src/errors.js';
import {
  openRecord,
  signRecord,
  supersedes,
  type DhtRecordView,
} from '../../src/records/record.js';
import { RecordStore, SELF, type RecordQuotas } from '../../src/records/store.js';
import { mutableKey } from '../../src/records/validators.js';
import { NETWORK_A, NETWORK_B, identity, rules } from '../support/fixtures.js';

const alice = identity();
const bob = identity();

const QUOTAS: RecordQuotas = {
  maxRecordsPerPeer: 3,
  maxBytesPerPeer: 10_000,
  maxRecords: 5,
  maxBytes: 100_000,
};

let clock: ManualClock;
let store: Store;

beforeEach(async () => {
  clock = createManualClock();
  store = createMemoryStore({ clock }, { sweepIntervalMs: 0 });
  await store.start();
});
afterEach(async () => {
  await store.stop();
});

async function record(
  who = alice,
  name = 'a',
  seq = 1,
  value: Uint8Array = new Uint8Array([1]),
  ttlSec = 600,
  expiresAtMs = clock.now() + ttlSec * 1000,
) {
  const env = await signRecord(who, {
    key: mutableKey(who.publicKey, name),
    value,
    seq,
    ttlSec,
    expiresAtMs,
    networkId: NETWORK_A,
  });
  return openRecord(env, rules(), clock.now());
}

function reason(err: unknown): string | undefined {
  return err instanceof InvalidRecordError ? err.reason : undefined;
}

describe('RecordStore', () => {
  it('keeps the higher seq and refuses a lower one (a replay)', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    const v1 = await record(alice, 'a', 1);
    const v2 = await record(alice, 'a', 2, new Uint8Array([2]));
    expect(await rs.put(v1, 'p1')).toBe('stored');
    expect(await rs.put(v2, 'p1')).toBe('stored');
    expect(rs.held(v1.key)?.seq).toBe(2);
    expect(reason(await rs.put(v1, 'p2').catch((e: unknown) => e))).toBe('stale-seq');
    expect(rs.held(v1.key)?.seq).toBe(2);
    const back = rs.get(v1.key);
    expect(back && openRecord(back, rules(), clock.now()).value).toEqual(new Uint8Array([2]));
  });

  it('accepts the same record again (refresh, or a later expiry) but not another value at the same seq', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    const v = await record(alice, 'a', 3);
    expect(await rs.put(v, 'p1')).toBe('stored');
    expect(await rs.put(v, 'p2')).toBe('unchanged');
    clock.advance(1000);
    const later = await record(alice, 'a', 3);
    expect(await rs.put(later, 'p1')).toBe('stored');
    expect(rs.held(v.key)?.expiresAtMs).toBe(later.expiresAtMs);
    const other = await record(alice, 'a', 3, new Uint8Array([9]));
    expect(reason(await rs.put(other, 'p1').catch((e: unknown) => e))).toBe('conflict');
  });

  it('forgets records at expiry', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    const v = await record(alice, 'a', 1, new Uint8Array([1]), 10);
    await rs.put(v, 'p1');
    clock.advance(9_999);
    expect(rs.get(v.key)).toBeDefined();
    clock.advance(1);
    expect(rs.held(v.key)).toBeUndefined();
    expect(rs.get(v.key)).toBeUndefined();
    expect(rs.size).toBe(0);
    expect(rs.usage('p1').records).toBe(0);
  });

  it('holds a per-peer record quota', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    for (let i = 0; i < 3; i++) await rs.put(await record(alice, `k${i}`), 'flooder');
    await expect(rs.put(await record(alice, 'k3'), 'flooder')).rejects.toThrow(QuotaExceededError);
    expect(rs.usage('flooder').records).toBe(3);
    // Another peer still has room; an update of a held record by its owner does not count twice.
    await rs.put(await record(bob, 'x'), 'honest');
    await rs.put(await record(alice, 'k0', 2), 'flooder');
    expect(rs.usage('flooder').records).toBe(3);
  });

  it('holds a per-peer byte quota and the node-wide quotas', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, {
      ...QUOTAS,
      maxBytesPerPeer: 500,
      maxRecordsPerPeer: 10,
    });
    await rs.put(await record(alice, 'a', 1, new Uint8Array(150)), 'p');
    await expect(rs.put(await record(alice, 'b', 1, new Uint8Array(150)), 'p')).rejects.toThrow(
      QuotaExceededError,
    );
    const all = new RecordStore(store, NETWORK_B, clock, { ...QUOTAS, maxRecordsPerPeer: 100 });
    for (let i = 0; i < 5; i++) {
      const env = await signRecord(alice, {
        key: mutableKey(alice.publicKey, `n${i}`),
        value: new Uint8Array([1]),
        seq: 1,
        ttlSec: 60,
        expiresAtMs: clock.now() + 60_000,
        networkId: NETWORK_B,
      });
      await all.put(openRecord(env, rules({ networkId: NETWORK_B }), clock.now()), `p${i}`);
    }
    const sixth = await signRecord(alice, {
      key: mutableKey(alice.publicKey, 'n6'),
      value: new Uint8Array([1]),
      seq: 1,
      ttlSec: 60,
      expiresAtMs: clock.now() + 60_000,
      networkId: NETWORK_B,
    });
    await expect(
      all.put(openRecord(sixth, rules({ networkId: NETWORK_B }), clock.now()), 'p9'),
    ).rejects.toThrow(QuotaExceededError);
    // Own records are not subject to per-peer quotas.
    expect(await rs.put(await record(alice, 'c', 1, new Uint8Array(150)), SELF)).toBe('stored');
  });

  it('reloads from the store after a restart, per network, and drops tampered entries', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    const v = await record(alice, 'a', 7);
    const w = await record(bob, 'b', 1);
    await rs.put(v, 'p1');
    await rs.put(w, 'p1');
    // Tamper with one stored envelope.
    const ns = store.namespace('dht-records');
    for (const e of ns.scan()) {
      const env = SignedEnvelope.decode(e.value);
      if (Buffer.from(env.signer).equals(Buffer.from(bob.publicKey))) {
        const sig = env.signature.slice();
        sig[3] = (sig[3] as number) ^ 1;
        await ns.put(e.key, SignedEnvelope.encode({ ...env, signature: sig }));
      }
    }
    const again = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    expect(await again.load(rules())).toBe(1);
    expect(again.held(v.key)?.seq).toBe(7);
    expect(again.held(w.key)).toBeUndefined();
    const otherNetwork = new RecordStore(store, NETWORK_B, clock, QUOTAS);
    expect(await otherNetwork.load(rules({ networkId: NETWORK_B }))).toBe(0);
    expect(otherNetwork.get(v.key)).toBeUndefined();
  });

  it('asks the namespace whether a higher seq may replace the held record (mayReplace)', async () => {
    const owner = bob.publicKey;
    // Only the publisher of the held record or `bob` may replace it.
    const guarded = {
      validate: () => true,
      mayReplace: (next: DhtRecordView, current: DhtRecordView) =>
        Buffer.from(next.publisher).equals(Buffer.from(current.publisher)) ||
        Buffer.from(next.publisher).equals(Buffer.from(owner)),
    };
    const r = rules({ validators: new Map([['box', guarded]]) });
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS, { validators: r.validators });
    const box = async (who: typeof alice, seq: number, value: number) =>
      openRecord(
        await signRecord(who, {
          key: new TextEncoder().encode('/box/slot-1'),
          value: new Uint8Array([value]),
          seq,
          ttlSec: 60,
          expiresAtMs: clock.now() + 60_000,
          networkId: NETWORK_A,
        }),
        r,
        clock.now(),
      );
    const mallory = identity();
    expect(await rs.put(await box(alice, 1, 1), 'p1')).toBe('stored');
    expect(reason(await rs.put(await box(mallory, 5, 6), 'p2').catch((e: unknown) => e))).toBe(
      'replace-refused',
    );
    expect(await rs.put(await box(alice, 2, 2), 'p1')).toBe('stored');
    expect(await rs.put(await box(bob, 3, 0), 'p3')).toBe('stored');
    expect(rs.held(new TextEncoder().encode('/box/slot-1'))?.seq).toBe(3);
    // supersedes() applies the same rule in either order (what `get` uses across answers).
    const [held, spoof] = [await box(alice, 2, 2), await box(mallory, 9, 9)];
    expect(supersedes(guarded, spoof, held)).toBe(false);
    expect(supersedes(guarded, held, spoof)).toBe(true);
    expect(supersedes(undefined, spoof, held)).toBe(true);
    expect(supersedes(undefined, held, held)).toBe(false);
    const throwing = {
      validate: () => true,
      mayReplace: (): boolean => {
        throw new Error('hostile record');
      },
    };
    expect(supersedes(throwing, spoof, held)).toBe(false);
    expect(supersedes(throwing, held, spoof)).toBe(true);
  });

  it('lists held records by key prefix, with their fields', async () => {
    const rs = new RecordStore(store, NETWORK_A, clock, QUOTAS);
    await rs.put(await record(alice, 'inbox/1', 1, new Uint8Array([1])), 'p1');
    await rs.put(await record(alice, 'inbox/2', 4, new Uint8Array([2])), 'p1');
    await rs.put(await record(alice, 'other', 1), 'p1');
    await rs.put(await record(bob, 'inbox/1', 1), 'p2');
    const prefix = mutableKey(alice.publicKey, 'inbox/');
    const listed = rs.list(prefix);
    expect(listed.map((v) => v.seq).sort()).toEqual([1, 4]);
    expect(listed.every((v) => Buffer.from(v.publisher).equals(Buffer.from(alice.publicKey)))).toBe(
      true,
    );
    expect(rs.list(prefix, 1)).toHaveLength(1);
    expect(rs.list()).toHaveLength(4);
    clock.advance(600_001);
    expect(rs.list()).toHaveLength(0);
  });
});
