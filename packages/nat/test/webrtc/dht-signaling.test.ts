// Signaling through the DHT with no mutual connection: two peers that share no connection, no
// relay and no presence exchange offer and answer only as mailbox records (SharedRecords, the
// DHT's contract; in memory here, the real DHT in @detr/node's tests), then connect over WebRTC
// on 127.0.0.1 and carry a stream.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Address, Connection, PeerId, PenaltyReason, Stream } from '@detr/interface';
import { parseAddress, withPeer } from '@detr/interface';
import { createSignaling, type Signaling } from '../../src/signaling/service.js';
import { createSignalRoutes } from '../../src/signaling/routes.js';
import { createWebRTCTransport, type WebRTCTransport } from '../../src/webrtc/transport.js';
import { memoryRecords } from '../support/memory-records.js';
import { muxFactory } from '../support/mux.js';
import { createWebRTCTestNetwork } from '../support/webrtc-net.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function readAll(s: Stream, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    s.on('data', (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= bytes) resolve(Buffer.concat(got));
    });
    s.once('error', reject);
  });
}

describe('signaling through the DHT, no connection in common', () => {
  it('exchanges offer and answer as mailbox records only, then connects over WebRTC on 127.0.0.1', async () => {
    const net = createWebRTCTestNetwork();
    const records = memoryRecords();
    const dials: Address[] = [];
    const penalties: Array<[string, PenaltyReason]> = [];
    const peer = (): {
      id: PeerId;
      transport: WebRTCTransport;
      signaling: Signaling;
      handle: (p: string, h: (s: Stream) => void) => void;
    } => {
      const m = net.member();
      const id = m.identity.peerId;
      // No connection to anyone, and every dial (to a relay, say) fails.
      const connections = {
        connections: (): Connection[] => [],
        dial: (target: Address): Promise<Connection> => {
          dials.push(target);
          return Promise.reject(new Error('no connections in this test'));
        },
      };
      const reporter = {
        penalize: (p: PeerId, r: PenaltyReason) => penalties.push([p.toString(), r]),
        reward: () => {},
      };
      const signaling = createSignaling(
        { peerId: id, connections, records: records.as(id), reporter },
        { dhtPollIntervalMs: 100, dhtFastPollMs: 20 },
      );
      signaling.start();
      const transport = createWebRTCTransport(
        {
          peerId: id,
          handshake: m.handshake,
          mux: muxFactory({ registry: m.registry, reporter }),
          signaling: createSignalRoutes({ signaling, connections }),
          reporter,
        },
        { bindAddress: '127.0.0.1', dialTimeoutMs: 15_000 },
      );
      stops.push(async () => {
        signaling.stop();
        await transport.close();
      });
      return { id, transport, signaling, handle: (p, h) => m.registry.handle(p, h) };
    };
    const a = peer();
    const b = peer();
    b.handle('/echo/1', (s) => void s.pipe(s));
    const inbound: Connection[] = [];
    await b.transport.listen(parseAddress('/ip4/127.0.0.1/udp/0/webrtc'), (c) => inbound.push(c));

    const conn = await a.transport.dial(
      withPeer(parseAddress('/ip4/0.0.0.0/udp/0/webrtc'), b.id.toString()),
    );
    expect(conn.transport).toBe('webrtc');
    expect(conn.remotePeer.equals(b.id)).toBe(true);
    const s = await conn.newStream('/echo/1');
    const echoed = readAll(s, 5);
    s.write(Buffer.from('hello'));
    expect((await echoed).toString()).toBe('hello');
    expect(inbound).toHaveLength(1);
    expect(inbound[0]!.remotePeer.equals(a.id)).toBe(true);

    // Only the DHT carried the negotiation: an offer in b's mailbox signed by a, an answer in
    // a's signed by b, no candidate records (they ride inside the descriptions), and no dial.
    const mailbox = (p: PeerId): string =>
      Buffer.from(`/signal/`).toString('hex') + Buffer.from(p.bytes).toString('hex');
    expect(records.log.map((r) => [r.key, r.publisher.toString(), r.kind])).toEqual([
      [mailbox(b.id), a.id.toString(), 'offer'],
      [mailbox(a.id), b.id.toString(), 'answer'],
    ]);
    expect(a.signaling.stats.dhtReceived).toBeGreaterThanOrEqual(1);
    expect(b.signaling.stats.dhtReceived).toBeGreaterThanOrEqual(1);
    expect(dials).toEqual([]);
    expect(penalties).toEqual([]);
    s.end();
    await conn.close();
  }, 30_000);
});
