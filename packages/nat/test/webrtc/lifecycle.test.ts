// Every PeerConnection and DataChannel detr opens is closed, and node-datachannel's cleanup() runs
// once, when the last WebRTC transport closes: counted through the runtime's bookkeeping and
// checked against the native objects' own state.
import { describe, expect, it } from '@jest/globals';
import type { DataChannel, PeerConnection } from 'node-datachannel';
import type { Address, Connection, Stream } from '@detr/interface';
import { parseAddress } from '@detr/interface';
import { keptWebRTCObjects, webrtcRuntimeCounts, webrtcUsers } from '../../src/webrtc/runtime.js';
import { createWebRTCTestNetwork, webrtcEndpoint, webrtcFactory } from '../support/webrtc-net.js';

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function echo(conn: Connection): Promise<void> {
  const s: Stream = await conn.newStream('/echo/1');
  const back = new Promise<void>((resolve) => s.once('data', () => resolve()));
  s.write(Buffer.from('ping'));
  await back;
  s.end();
}

describe('WebRTC lifecycle', () => {
  it('closes every PeerConnection and DataChannel it opens, and cleans up once, at the last close', async () => {
    const before = webrtcRuntimeCounts();
    expect(webrtcUsers()).toBe(0);
    const net = createWebRTCTestNetwork();
    const server = webrtcEndpoint(net);
    const client = webrtcEndpoint(net);
    const stranger = webrtcEndpoint(net, { withoutToken: true });
    server.handle('/echo/1', (s) => void s.pipe(s));
    const inbound: Connection[] = [];
    const listener = await server.transport.listen(
      parseAddress('/ip4/127.0.0.1/udp/0/webrtc'),
      (c) => inbound.push(c),
    );
    const address = listener.addresses()[0] as Address;
    // Three users: the transports hold the runtime from creation to close.
    expect(webrtcUsers()).toBe(3);

    // Connections closed by either side.
    const a = await client.transport.dial(address);
    await echo(a);
    await a.close();
    const b = await client.transport.dial(address);
    await echo(b);
    await until(() => inbound.length === 2);
    await inbound[1]!.close();
    // A dial the listener refuses (no token), one to a listener that never speaks the
    // handshake, aborted, and one aborted before it starts.
    await expect(stranger.transport.dial(address)).rejects.toThrow();
    const silent = await webrtcFactory(net).silentListener();
    await expect(
      client.transport.dial(silent.address, { signal: AbortSignal.timeout(1500) }),
    ).rejects.toThrow();
    await silent.close();
    const aborted = new AbortController();
    aborted.abort();
    await expect(client.transport.dial(address, { signal: aborted.signal })).rejects.toThrow();
    // One left open: the transports' close must close it.
    const c = await client.transport.dial(address);
    await echo(c);

    // Everything but the open connection's session is closed, natively too; no cleanup yet.
    const opened = (): number =>
      webrtcRuntimeCounts().peerConnectionsOpened - before.peerConnectionsOpened;
    const closed = (): number =>
      webrtcRuntimeCounts().peerConnectionsClosed - before.peerConnectionsClosed;
    await until(() => opened() - closed() === 2);
    const kept = keptWebRTCObjects();
    const open = kept.filter((o) =>
      o.kind === 'pc'
        ? (o.object as PeerConnection).state() !== 'closed'
        : (o.object as DataChannel).isOpen(),
    );
    // Both ends of `c`: two PeerConnections and their mux channels (channel 0 is closed once the
    // handshake is done).
    expect(open.filter((o) => o.kind === 'pc')).toHaveLength(2);
    expect(open.filter((o) => o.kind === 'dc')).toHaveLength(2);
    expect(webrtcRuntimeCounts().cleanups).toBe(before.cleanups);

    await stranger.transport.close();
    await client.transport.close();
    expect(webrtcRuntimeCounts().cleanups).toBe(before.cleanups);
    await server.transport.close();
    await until(() => webrtcUsers() === 0);

    const after = webrtcRuntimeCounts();
    expect(after.peerConnectionsOpened - before.peerConnectionsOpened).toBeGreaterThanOrEqual(10);
    expect(after.peerConnectionsClosed).toBe(after.peerConnectionsOpened);
    expect(after.dataChannelsClosed).toBe(after.dataChannelsOpened);
    expect(after.dataChannelsOpened - before.dataChannelsOpened).toBe(
      2 * (after.peerConnectionsOpened - before.peerConnectionsOpened),
    );
    expect(after.cleanups).toBe(before.cleanups + 1);
  }, 60_000);
});
