import { describe, expect, it } from '@jest/globals';
import { envelopeSigningBytes } from '@detr/aecomms';
import { DhtRecord, MessageType, Presence, type SignedEnvelope } from '@detr/protocol';
import { InvalidRecordError } from '../../src/errors.js';
import { namespaceOf, openRecord, signRecord } from '../../src/records/record.js';
import { mutableKey, presenceKey } from '../../src/records/validators.js';
import { NETWORK_A, NETWORK_B, identity, rules } from '../support/fixtures.js';

const NOW = 1_700_000_000_000;
const alice = identity();
const mallory = identity();

function fields(
  over: Partial<Parameters<typeof signRecord>[1]> = {},
): Parameters<typeof signRecord>[1] {
  return {
    key: mutableKey(alice.publicKey, 'profile'),
    value: new Uint8Array([1, 2, 3]),
    seq: 5,
    ttlSec: 600,
    expiresAtMs: NOW + 600_000,
    networkId: NETWORK_A,
    ...over,
  };
}

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRecordError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('records', () => {
  it('signs and opens a valid record', async () => {
    const env = await signRecord(alice, fields());
    const view = openRecord(env, rules(), NOW);
    expect(view.seq).toBe(5);
    expect(Buffer.from(view.publisher)).toEqual(Buffer.from(alice.publicKey));
    expect(view.expiresAtMs).toBe(NOW + 600_000);
  });

  it('refuses a forged signature', async () => {
    const env = await signRecord(alice, fields());
    const sig = env.signature.slice();
    sig[0] = (sig[0] as number) ^ 0x40;
    expect(reason(() => openRecord({ ...env, signature: sig }, rules(), NOW))).toBe('signature');
    // A body changed after signing
    const body = DhtRecord.encode({ ...fields(), value: new Uint8Array([9]) });
    expect(reason(() => openRecord({ ...env, body }, rules(), NOW))).toBe('signature');
  });

  it('refuses a signature made for another payload type', async () => {
    const env = await signRecord(alice, fields());
    const asPresence = alice.sign(envelopeSigningBytes(MessageType.Presence, env.body));
    expect(reason(() => openRecord({ ...env, signature: asPresence }, rules(), NOW))).toBe(
      'signature',
    );
    expect(
      reason(() => openRecord({ ...env, payloadType: MessageType.Presence }, rules(), NOW)),
    ).toBe('malformed');
  });

  it('refuses a record of another network', async () => {
    const env = await signRecord(alice, fields({ networkId: NETWORK_B }));
    expect(reason(() => openRecord(env, rules(), NOW))).toBe('network');
  });

  it('refuses keys without a validator, and keys the publisher does not own', async () => {
    const unknown = await signRecord(alice, fields({ key: new TextEncoder().encode('/nope/x') }));
    expect(reason(() => openRecord(unknown, rules(), NOW))).toBe('namespace');
    const noNs = await signRecord(alice, fields({ key: new TextEncoder().encode('plain') }));
    expect(reason(() => openRecord(noNs, rules(), NOW))).toBe('namespace');
    // Mallory signs a record under Alice's key.
    const stolen = await signRecord(mallory, fields());
    expect(reason(() => openRecord(stolen, rules(), NOW))).toBe('validator');
  });

  it('applies size, TTL and expiry limits', async () => {
    const big = await signRecord(alice, fields({ value: new Uint8Array(1025) }));
    expect(reason(() => openRecord(big, rules(), NOW))).toBe('too-large');
    const longTtl = await signRecord(alice, fields({ ttlSec: 3601, expiresAtMs: NOW + 3_601_000 }));
    expect(reason(() => openRecord(longTtl, rules(), NOW))).toBe('ttl');
    const zeroTtl = await signRecord(alice, fields({ ttlSec: 0 }));
    expect(reason(() => openRecord(zeroTtl, rules(), NOW))).toBe('ttl');
    const expired = await signRecord(alice, fields({ expiresAtMs: NOW - 1 }));
    expect(reason(() => openRecord(expired, rules(), NOW))).toBe('expired');
    // An expiry beyond ttl + skew: the publisher claims more life than its TTL allows.
    const far = await signRecord(alice, fields({ expiresAtMs: NOW + 600_000 + 60_001 }));
    expect(reason(() => openRecord(far, rules(), NOW))).toBe('ttl');
    const derived = await signRecord(alice, fields({ expiresAtMs: 0 }));
    expect(openRecord(derived, rules(), NOW).expiresAtMs).toBe(NOW + 600_000);
  });

  it('refuses malformed envelopes and bodies', async () => {
    const env = await signRecord(alice, fields());
    const broken: SignedEnvelope = { ...env, body: new Uint8Array([0xff, 0xff, 0xff]) };
    expect(reason(() => openRecord(broken, rules(), NOW))).toBe('malformed');
    expect(reason(() => openRecord({ ...env, signer: new Uint8Array(31) }, rules(), NOW))).toBe(
      'malformed',
    );
  });

  it('validates presence records: publisher, peer, network and seq must match', async () => {
    const peerBytes = alice.peerId.bytes;
    const presence = (over: Partial<Parameters<typeof Presence.encode>[0]> = {}): Uint8Array =>
      Presence.encode({
        peer: peerBytes,
        addresses: ['/ip4/198.51.100.1/tcp/4001'],
        relayAddresses: [],
        seq: 9,
        ttlSec: 600,
        networkId: NETWORK_A,
        ...over,
      });
    const key = presenceKey(peerBytes);
    const ok = await signRecord(alice, fields({ key, value: presence(), seq: 9 }));
    expect(openRecord(ok, rules(), NOW).seq).toBe(9);
    const byMallory = await signRecord(mallory, fields({ key, value: presence(), seq: 9 }));
    expect(reason(() => openRecord(byMallory, rules(), NOW))).toBe('validator');
    const seqMismatch = await signRecord(
      alice,
      fields({ key, value: presence({ seq: 8 }), seq: 9 }),
    );
    expect(reason(() => openRecord(seqMismatch, rules(), NOW))).toBe('validator');
    const otherNet = await signRecord(
      alice,
      fields({ key, value: presence({ networkId: NETWORK_B }), seq: 9 }),
    );
    expect(reason(() => openRecord(otherNet, rules(), NOW))).toBe('validator');
    const garbage = await signRecord(alice, fields({ key, value: new Uint8Array([0xff]), seq: 9 }));
    expect(reason(() => openRecord(garbage, rules(), NOW))).toBe('validator');
  });

  it('parses key namespaces strictly', () => {
    const t = (s: string): string | undefined => namespaceOf(new TextEncoder().encode(s));
    expect(t('/m/abc')).toBe('m');
    expect(t('/presence/x')).toBe('presence');
    expect(t('//x')).toBeUndefined();
    expect(t('/UPPER/x')).toBeUndefined();
    expect(t('m/x')).toBeUndefined();
    expect(t('/noend')).toBeUndefined();
  });
});
