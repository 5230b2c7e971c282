import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseAddress } from '@detr/interface';
import {
  InvalidPeerIdError,
  createIdentity,
  nobleCryptoProvider,
  peerIdFromBytes,
  peerIdFromPublicKey,
  peerIdFromString,
} from '../../src/index.js';
import { hex } from '../helpers.js';

// RFC 8032 TEST 1 public key; the text form was cross-checked with Python's base64.b32encode.
const KEY = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
const TEXT = 'dahlvvgabqkyqvn6vjp7nhslea45a5yls6pnkmizfv4bbu2hxa5irvpgr2vvq';
const BYTES = '01d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

describe('PeerId', () => {
  it('has a pinned binary and text form (golden)', () => {
    const id = peerIdFromPublicKey(KEY);
    expect(id.type).toBe('Ed25519');
    expect(Buffer.from(id.bytes).toString('hex')).toBe(BYTES);
    expect(id.toString()).toBe(TEXT);
    expect(Buffer.from(id.publicKey).toString('hex')).toBe(Buffer.from(KEY).toString('hex'));
    expect(JSON.stringify({ id })).toBe(`{"id":"${TEXT}"}`);
  });

  it('round-trips exactly through text and bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const id = peerIdFromPublicKey(key);
        const text = id.toString();
        expect(text).toHaveLength(61);
        const parsed = peerIdFromString(text);
        expect(parsed.toString()).toBe(text);
        expect(parsed.equals(id)).toBe(true);
        expect(peerIdFromBytes(id.bytes).equals(id)).toBe(true);
        expect(peerIdFromBytes(parsed.bytes).toString()).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('is a valid /p2p/ component of an address', () => {
    const a = parseAddress(`/ip4/127.0.0.1/tcp/4001/p2p/${TEXT}`);
    expect(a.peer).toBe(TEXT);
  });

  it('detects every single-character substitution (checksum or canonical form)', () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    let checked = 0;
    for (let i = 1; i < TEXT.length; i++) {
      for (const c of alphabet) {
        if (c === TEXT[i]) continue;
        const bad = TEXT.slice(0, i) + c + TEXT.slice(i + 1);
        expect(() => peerIdFromString(bad)).toThrow(InvalidPeerIdError);
        checked++;
      }
    }
    expect(checked).toBe(60 * 31);
  });

  it.each([
    ['empty', ''],
    ['upper case', TEXT.toUpperCase()],
    ['wrong prefix', 'e' + TEXT.slice(1)],
    ['too short', TEXT.slice(0, -1)],
    ['too long', TEXT + 'a'],
    ['padding', TEXT.slice(0, -1) + '='],
    ['whitespace', ' ' + TEXT.slice(1)],
    ['non-ASCII', TEXT.slice(0, -1) + 'é'],
    ['digit outside the alphabet', TEXT.slice(0, -1) + '1'],
  ])('rejects text: %s', (_what, text) => {
    expect(() => peerIdFromString(text)).toThrow(InvalidPeerIdError);
  });

  it('rejects a non-canonical last character (non-zero spare bits)', () => {
    // The last character carries 1 data bit and 4 spare bits; 'a' + 1 sets a spare bit.
    const last = TEXT[TEXT.length - 1]!;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    const v = alphabet.indexOf(last);
    const noncanonical = TEXT.slice(0, -1) + alphabet[v ^ 1];
    expect(() => peerIdFromString(noncanonical)).toThrow(/canonical/);
  });

  it('rejects another version byte even with a valid checksum', () => {
    const bytes = Uint8Array.from(peerIdFromPublicKey(KEY).bytes);
    bytes[0] = 2;
    expect(() => peerIdFromBytes(bytes)).toThrow(InvalidPeerIdError);
  });

  it.each([
    ['32 bytes', new Uint8Array(32)],
    ['34 bytes', new Uint8Array(34)],
    ['version 0', new Uint8Array(33)],
  ])('rejects bytes: %s', (_what, bytes) => {
    expect(() => peerIdFromBytes(bytes)).toThrow(InvalidPeerIdError);
  });

  it('rejects non-byte input with a TypeError subclass', () => {
    expect(() => peerIdFromString(42 as unknown as string)).toThrow(TypeError);
    expect(() => peerIdFromBytes('x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => peerIdFromPublicKey(new Uint8Array(31))).toThrow(InvalidPeerIdError);
  });

  it('copies its input: later changes to the source do not alter the id', () => {
    const src = Uint8Array.from(peerIdFromPublicKey(KEY).bytes);
    const id = peerIdFromBytes(src);
    src[5]! ^= 0xff;
    expect(id.toString()).toBe(TEXT);
    const key = Uint8Array.from(KEY);
    const id2 = peerIdFromPublicKey(key);
    key[0]! ^= 1;
    expect(id2.toString()).toBe(TEXT);
  });

  it('equals compares identities, including foreign PeerId objects', () => {
    const a = peerIdFromPublicKey(KEY);
    const other = peerIdFromPublicKey(new Uint8Array(32));
    expect(a.equals(other)).toBe(false);
    expect(a.equals({ ...a, bytes: Uint8Array.from(a.bytes) })).toBe(true);
    expect(a.equals({ bytes: new Uint8Array(3) } as never)).toBe(false);
  });
});

describe('createIdentity', () => {
  it('derives the same PeerId from the same seed on both providers', () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const a = createIdentity(seed);
    const b = createIdentity(seed, { provider: nobleCryptoProvider });
    expect(a.peerId.toString()).toBe(TEXT);
    expect(b.peerId.equals(a.peerId)).toBe(true);
    const msg = hex('72');
    expect(Buffer.from(a.sign(msg))).toEqual(Buffer.from(b.sign(msg)));
    expect(Buffer.from(a.exportSeed())).toEqual(Buffer.from(seed));
  });

  it('creates distinct random identities', () => {
    const a = createIdentity();
    const b = createIdentity();
    expect(a.peerId.equals(b.peerId)).toBe(false);
    expect(createIdentity(a.exportSeed()).peerId.equals(a.peerId)).toBe(true);
  });

  it('rejects a seed of the wrong size', () => {
    expect(() => createIdentity(new Uint8Array(16))).toThrow(RangeError);
  });
});
