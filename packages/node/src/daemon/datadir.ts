// The data directory of a daemon: identity, config, control token, network material, store.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createIdentity, type Identity } from '@detr/aecomms';

export const FILES = {
  identity: 'identity.key',
  admin: 'admin.key',
  config: 'config.toml',
  controlToken: 'control.token',
  control: 'control.json',
  network: 'network.txt',
  token: 'token.txt',
  revocations: 'revocations.txt',
  store: 'store',
} as const;

/** The data directory: `--dir`, `$DETR_HOME`, or `~/.detr`. */
export function dataDir(dir?: string): string {
  return dir ?? process.env.DETR_HOME ?? join(homedir(), '.detr');
}

export function path(dir: string, file: keyof typeof FILES): string {
  return join(dir, FILES[file]);
}

/** Writes a secret file readable by the owner only. */
export function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function readText(dir: string, file: keyof typeof FILES): string | undefined {
  const p = path(dir, file);
  return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined;
}

function loadKey(file: string): Identity {
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file}: not a key file`);
  return createIdentity(Buffer.from(hex, 'hex'));
}

export function loadIdentity(dir: string): Identity {
  return loadKey(path(dir, 'identity'));
}

export function loadAdmin(dir: string): Identity | undefined {
  return existsSync(path(dir, 'admin')) ? loadKey(path(dir, 'admin')) : undefined;
}

export function saveKey(dir: string, file: 'identity' | 'admin', identity: Identity): void {
  writeSecret(path(dir, file), Buffer.from(identity.exportSeed()).toString('hex') + '\n');
}

/** Creates the directory, an identity and a control token (keeping existing ones). */
export function initDir(dir: string): { identity: Identity; created: boolean } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  if (!existsSync(path(dir, 'identity'))) {
    saveKey(dir, 'identity', createIdentity());
    created = true;
  }
  if (!existsSync(path(dir, 'controlToken'))) {
    writeSecret(path(dir, 'controlToken'), randomBytes(32).toString('hex') + '\n');
  }
  return { identity: loadIdentity(dir), created };
}
