import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  KeyFileError,
  createIdentity,
  loadIdentity,
  loadOrCreateIdentity,
  nobleCryptoProvider,
  saveIdentity,
  type KeyFileFailureReason,
} from '../../src/index.js';

const FAST = { N: 1024, r: 8, p: 1 }; // tests only; the default is N = 2^15
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aecomms-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function reasonOf(p: Promise<unknown>): Promise<KeyFileFailureReason | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof KeyFileError) return err.reason;
    throw err;
  }
}

async function edit(path: string, change: (json: Record<string, unknown>) => void): Promise<void> {
  const json = JSON.parse(await readFile(path, 'utf8'));
  change(json);
  await writeFile(path, JSON.stringify(json), { mode: 0o600 });
}

describe('key files', () => {
  it('saves with mode 0600 and loads the same identity (plain)', async () => {
    const path = join(dir, 'plain.json');
    const identity = createIdentity();
    await saveIdentity(path, identity);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loaded = await loadIdentity(path);
    expect(loaded.peerId.equals(identity.peerId)).toBe(true);
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json).toMatchObject({
      type: 'detr-identity',
      version: 1,
      peerId: identity.peerId.toString(),
      encryption: null,
    });
  });

  it('encrypts with a passphrase (default scrypt cost) and needs it back', async () => {
    const path = join(dir, 'enc-default.json');
    const identity = createIdentity();
    await saveIdentity(path, identity, { passphrase: 'correct horse' });
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json.encryption).toMatchObject({
      kdf: 'scrypt',
      N: 32768,
      r: 8,
      p: 1,
      cipher: 'chacha20-poly1305',
    });
    expect(await readFile(path, 'utf8')).not.toContain(
      Buffer.from(identity.exportSeed()).toString('base64'),
    );
    const loaded = await loadIdentity(path, { passphrase: 'correct horse' });
    expect(loaded.peerId.equals(identity.peerId)).toBe(true);
    // Two scrypt runs at the default cost (32 MiB each): seconds on a loaded 2-core machine.
  }, 30_000);

  it('reports a wrong passphrase, and a missing one, distinctly from corruption', async () => {
    const path = join(dir, 'enc.json');
    await saveIdentity(path, createIdentity(), { passphrase: 'right', scrypt: FAST });
    expect(await reasonOf(loadIdentity(path, { passphrase: 'wrong' }))).toBe('wrong-passphrase');
    expect(await reasonOf(loadIdentity(path))).toBe('passphrase-required');
    expect(await reasonOf(loadIdentity(path, { passphrase: 'right' }))).toBe('ok');
  });

  it('normalises string passphrases (NFC) and loads on the other provider', async () => {
    const path = join(dir, 'nfc.json');
    const identity = createIdentity();
    await saveIdentity(path, identity, { passphrase: 'cafe\u0301', scrypt: FAST });
    const loaded = await loadIdentity(path, {
      passphrase: 'caf\u00e9',
      provider: nobleCryptoProvider,
    });
    expect(loaded.peerId.equals(identity.peerId)).toBe(true);
  });

  it.each<[string, (j: Record<string, unknown>) => void]>([
    ['a changed key byte', (j) => (j.key = `A${(j.key as string).slice(1)}`)],
    ['a changed peer id', (j) => (j.peerId = createIdentity().peerId.toString())],
    ['a changed scrypt cost', (j) => ((j.encryption as { N: number }).N = 2048)],
    ['a missing checksum', (j) => delete j.checksum],
    ['another type', (j) => (j.type = 'ssh-key')],
  ])('reports corruption: %s', async (_what, change) => {
    const path = join(dir, `corrupt-${Math.random()}.json`);
    await saveIdentity(path, createIdentity(), { passphrase: 'x', scrypt: FAST });
    await edit(path, change);
    expect(await reasonOf(loadIdentity(path, { passphrase: 'x' }))).toBe('corrupt');
  });

  it('reports corruption: truncated file, garbage, and a key that does not match its peer id', async () => {
    const path = join(dir, 'trunc.json');
    await saveIdentity(path, createIdentity());
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length / 2), { mode: 0o600 });
    expect(await reasonOf(loadIdentity(path))).toBe('corrupt');
    await writeFile(path, Buffer.from([0xff, 0, 1, 2]), { mode: 0o600 });
    expect(await reasonOf(loadIdentity(path))).toBe('corrupt');
    // A consistent checksum over a key of another identity: caught by the peer id check.
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await saveIdentity(a, createIdentity());
    await saveIdentity(b, createIdentity());
    const ja = JSON.parse(await readFile(a, 'utf8'));
    const jb = JSON.parse(await readFile(b, 'utf8'));
    const fields = [ja.type, ja.version, ja.peerId, null, jb.key];
    ja.key = jb.key;
    ja.checksum = createHash('sha256').update(JSON.stringify(fields)).digest('hex');
    await writeFile(a, JSON.stringify(ja), { mode: 0o600 });
    expect(await reasonOf(loadIdentity(a))).toBe('corrupt');
  });

  it('refuses a file readable by others unless allowed', async () => {
    const path = join(dir, 'open.json');
    await saveIdentity(path, createIdentity());
    await chmod(path, 0o644);
    expect(await reasonOf(loadIdentity(path))).toBe('insecure-permissions');
    expect(await reasonOf(loadIdentity(path, { allowInsecurePermissions: true }))).toBe('ok');
  });

  it('refuses another format version and unknown algorithms as unsupported', async () => {
    const path = join(dir, 'v2.json');
    await saveIdentity(path, createIdentity(), { passphrase: 'x', scrypt: FAST });
    await edit(path, (j) => (j.version = 2));
    expect(await reasonOf(loadIdentity(path, { passphrase: 'x' }))).toBe('unsupported');
  });

  it('overwrites atomically, keeps mode 0600 and leaves no temporary file', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'id.json');
    await saveIdentity(path, createIdentity());
    await chmod(path, 0o644);
    const second = createIdentity();
    await saveIdentity(path, second);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await loadIdentity(path)).peerId.equals(second.peerId)).toBe(true);
    expect(await readdir(sub)).toEqual(['id.json']);
  });

  it('loadOrCreateIdentity creates once, then loads the same identity', async () => {
    const path = join(dir, 'auto.json');
    const first = await loadOrCreateIdentity(path);
    const again = await loadOrCreateIdentity(path);
    expect(again.peerId.equals(first.peerId)).toBe(true);
  });

  it('rejects out-of-range scrypt parameters when saving', async () => {
    await expect(
      saveIdentity(join(dir, 'bad.json'), createIdentity(), {
        passphrase: 'x',
        scrypt: { N: 1000, r: 8, p: 1 },
      }),
    ).rejects.toThrow(RangeError);
  });
});
