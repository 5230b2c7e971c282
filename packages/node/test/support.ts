import {
  createMemoryConnectionManager,
  createMemoryHub,
  type MemoryHub,
} from '../src/memory-net.js';
import { createIdentity, type Identity } from '../src/identity.js';
import type { ConnectionManager } from '../src/ports.js';

export interface TestPeer {
  identity: Identity;
  cm: ConnectionManager;
}

export async function memoryPeers(
  n: number,
  hub: MemoryHub = createMemoryHub(),
): Promise<{ hub: MemoryHub; peers: TestPeer[] }> {
  const peers: TestPeer[] = [];
  for (let i = 0; i < n; i++) {
    const identity = createIdentity();
    const cm = createMemoryConnectionManager(hub, identity.peerId);
    await cm.start();
    peers.push({ identity, cm });
  }
  return { hub, peers };
}

export async function until(
  cond: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
