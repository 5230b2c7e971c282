import { afterEach, describe, expect, it } from '@jest/globals';
import type { Address, Connection, ConnectionGate, Transport } from '@detr/interface';
import { createSeededRng, parseAddress, withPeer } from '@detr/interface';
import { readAll } from '@detr/compliance';
import {
  createConnectionManager,
  createMemoryHub,
  createMemoryTransport,
  NoAddressError,
  type ConnectionManager,
  type MemoryHub,
} from '../src/index.js';
import { backoffDelay, resolveBackoff } from '../src/manager/backoff.js';
import { createTestNetwork, type TestNetwork } from './support/network.js';

const managers: ConnectionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map(async (m) => m.stop()));
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  cm: ConnectionManager;
  peer: ReturnType<TestNetwork['member']>['identity']['peerId'];
  address: Address;
  dials: () => number;
  opened: Connection[];
  closed: Connection[];
  registry: ReturnType<TestNetwork['member']>['registry'];
}

async function node(
  net: TestNetwork,
  hub: MemoryHub,
  name: string,
  options: {
    gate?: ConnectionGate;
    idleTimeoutMs?: number;
    init?: Parameters<typeof createConnectionManager>[1];
  } = {},
): Promise<Node> {
  const m = net.member();
  const base = createMemoryTransport(
    { ...m, hub, ...(options.gate !== undefined ? { gate: options.gate } : {}) },
    { idleTimeoutMs: options.idleTimeoutMs ?? 30_000 },
  );
  let dials = 0;
  const transport: Transport = {
    name: base.name,
    canDial: (a) => base.canDial(a),
    dial: (a, o) => {
      dials++;
      return base.dial(a, o);
    },
    listen: (a, h) => base.listen(a, h),
    close: () => base.close(),
  };
  const opened: Connection[] = [];
  const closed: Connection[] = [];
  const cm = createConnectionManager(
    {
      peer: m.identity.peerId,
      transports: [transport],
      registry: m.registry,
      tracker: { connectionOpened: (c) => opened.push(c), connectionClosed: (c) => closed.push(c) },
    },
    { listen: [parseAddress(`/memory/${name}`)], dialTimeoutMs: 2000, ...options.init },
  );
  managers.push(cm);
  await cm.start();
  return {
    cm,
    peer: m.identity.peerId,
    address: withPeer(parseAddress(`/memory/${name}`), m.identity.peerId.toString()),
    dials: () => dials,
    opened,
    closed,
    registry: m.registry,
  };
}

describe('connection manager', () => {
  it('stop() and many concurrent inbound handshakes share signals without a MaxListeners warning', async () => {
    // In a child process: jest's sandboxed `process` never sees Node's warnings.
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const script = fileURLToPath(new URL('./support/many-connections.ts', import.meta.url));
    const { code, stderr, stdout } = await new Promise<{
      code: number | null;
      stderr: string;
      stdout: string;
    }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--conditions=@detr/source', '--import', 'tsx', script],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stderr, stdout }));
    });
    expect(stdout).toContain('connections: 14');
    expect(code).toBe(0);
    expect(stderr).not.toContain('MaxListenersExceededWarning');
  }, 60_000);

  it('reuses one connection per peer and deduplicates concurrent dials', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a');
    const b = await node(net, hub, 'b');
    const conns = await Promise.all(Array.from({ length: 5 }, () => a.cm.dial(b.address)));
    for (const c of conns) expect(c).toBe(conns[0]);
    expect(a.dials()).toBe(1);
    expect(await a.cm.dial(b.peer)).toBe(conns[0]);
    expect(a.cm.connections(b.peer)).toHaveLength(1);
    await tick(20);
    expect(b.cm.connections(a.peer)).toHaveLength(1);
    expect(a.opened).toHaveLength(1);
    expect(b.opened).toHaveLength(1);
    expect(a.cm.addresses().map(String)).toEqual(['/memory/a']);
    // an address dialed without /p2p/ is remembered for the peer it turned out to be
    const c2 = await node(net, hub, 'c');
    await a.cm.dial(parseAddress('/memory/c'));
    await a.cm.hangUp(c2.peer);
    expect((await a.cm.dial(c2.peer)).remotePeer.equals(c2.peer)).toBe(true);
  });

  it('dials a PeerId through a known address, and says when it knows none', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a2');
    const b = await node(net, hub, 'b2');
    await expect(a.cm.dial(b.peer)).rejects.toBeInstanceOf(NoAddressError);
    a.cm.addAddress(b.peer, parseAddress('/memory/nowhere'));
    a.cm.addAddress(b.peer, parseAddress('/memory/b2'));
    const c = await a.cm.dial(b.peer);
    expect(c.remotePeer.equals(b.peer)).toBe(true);
  });

  it('emits connection:open and connection:close, and tells the tracker', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a3');
    const b = await node(net, hub, 'b3');
    const events: string[] = [];
    const off = a.cm.on('connection:open', (c) => events.push(`open ${c.direction}`));
    a.cm.on('connection:close', (c) => events.push(`close ${c.direction}`));
    const c = await a.cm.dial(b.address);
    await a.cm.hangUp(b.peer);
    await tick(20);
    expect(events).toEqual(['open outbound', 'close outbound']);
    expect(a.closed).toEqual([c]);
    off();
    await a.cm.dial(b.address);
    expect(events).toEqual(['open outbound', 'close outbound']);
  });

  it('reconnects a keep-alive peer with backoff, and keeps it open past the idle timeout', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a4', {
      idleTimeoutMs: 100,
      init: { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } },
    });
    const b = await node(net, hub, 'b4', { idleTimeoutMs: 100_000 });
    a.cm.addAddress(b.peer, parseAddress('/memory/b4'));
    a.cm.keepAlive(b.peer);
    for (let i = 0; i < 200 && a.cm.connections(b.peer).length === 0; i++) await tick(5);
    const first = a.cm.connections(b.peer)[0]!;
    await tick(300); // past a's idle timeout: kept open
    expect(first.status).toBe('open');
    // the remote cuts it: we come back
    b.cm.connections(a.peer)[0]!.abort();
    for (let i = 0; i < 200 && a.cm.connections(b.peer)[0] === undefined; i++) await tick(5);
    await tick(100);
    const second = a.cm.connections(b.peer)[0];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    a.cm.keepAlive(b.peer, false);
  });

  it('backoff grows exponentially, with jitter, up to its maximum', () => {
    const s = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 });
    const rng = createSeededRng(1);
    const delays = Array.from({ length: 8 }, (_, i) => backoffDelay(s, i, rng));
    const bases = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(bases[i]! / 2);
      expect(d).toBeLessThanOrEqual(bases[i]!);
    });
    expect(new Set(delays.slice(4)).size).toBeGreaterThan(1);
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });

  it('times a dial out, and a caller aborting does not cancel the shared dial', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const internal = hub as unknown as { listeners: Map<string, (s: { destroy(): void }) => void> };
    const held: Array<{ destroy(): void }> = [];
    internal.listeners.set('silent', (s) => void held.push(s));
    const a = await node(net, hub, 'a5', { init: { dialTimeoutMs: 200 } });
    const target = parseAddress('/memory/silent');
    const ac = new AbortController();
    const first = a.cm.dial(target, { signal: ac.signal });
    const second = a.cm.dial(target);
    ac.abort();
    await expect(first).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(second).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(a.dials()).toBe(1);
    for (const s of held) s.destroy();
  });

  it('keeps one connection when two peers dial each other at once', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a6');
    const b = await node(net, hub, 'b6');
    await Promise.all([a.cm.dial(b.address), b.cm.dial(a.address)]);
    await tick(100);
    const ab = a.cm.connections(b.peer);
    const ba = b.cm.connections(a.peer);
    expect(ab).toHaveLength(1);
    expect(ba).toHaveLength(1);
    // both sides kept the same connection: a stream on it works both ways
    b.cm.handle('/echo/1', (s) => void s.pipe(s));
    const s = await (await a.cm.dial(b.peer)).newStream('/echo/1');
    s.end('same');
    expect((await readAll(s)).toString()).toBe('same');
  });

  it('stop() lets streams in flight finish, then closes everything', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const a = await node(net, hub, 'a7');
    const b = await node(net, hub, 'b7');
    let got: Promise<Buffer> | undefined;
    b.cm.handle('/sink/1', (s) => {
      got = readAll(s);
      void got.then(() => s.end());
    });
    const conn = await a.cm.dial(b.address);
    const s = await conn.newStream('/sink/1');
    s.end(Buffer.alloc(1024 * 1024, 1));
    s.resume();
    await a.cm.stop();
    expect(conn.status).toBe('closed');
    expect((await got!).length).toBe(1024 * 1024);
    await expect(a.cm.dial(b.address)).rejects.toMatchObject({ code: 'NOT_STARTED' });
  });

  it('goes through the gate: a refused peer is never connected', async () => {
    const net = createTestNetwork();
    const hub = createMemoryHub();
    const b = await node(net, hub, 'b8');
    const a = await node(net, hub, 'a8', {
      gate: {
        allowInbound: () => true,
        allowDial: () => true,
        allowPeer: (p) => !p.equals(b.peer),
      },
    });
    await expect(a.cm.dial(b.address)).rejects.toMatchObject({ code: 'HANDSHAKE_FAILED' });
    expect(a.opened).toHaveLength(0);
    await tick(20);
    expect(b.opened).toHaveLength(0);
  });
});
