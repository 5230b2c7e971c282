import { afterEach, describe, expect, it } from '@jest/globals';
import { createChannelPipe, type ChannelPipeHandlers } from '../../src/webrtc/channel-pipe.js';
import {
  createRtcSession,
  type RtcSession,
  type RtcSessionResult,
} from '../../src/webrtc/session.js';

const sessions: RtcSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});

async function openPair(): Promise<[RtcSessionResult, RtcSessionResult]> {
  const peer: { b?: RtcSession } = {};
  const a = createRtcSession({
    role: 'offerer',
    iceServers: [],
    policy: 'all',
    bindAddress: '127.0.0.1',
    onSignal: (s) => setImmediate(() => peer.b?.receive(s)),
  });
  const b = createRtcSession({
    role: 'answerer',
    iceServers: [],
    policy: 'all',
    bindAddress: '127.0.0.1',
    onSignal: (s) => setImmediate(() => a.receive(s)),
  });
  peer.b = b;
  sessions.push(a, b);
  return Promise.all([a.open(), b.open()]);
}

function collect(): ChannelPipeHandlers & {
  messages: Buffer[];
  drains: number;
  ended: boolean;
  errors: Error[];
} {
  const h = {
    messages: [] as Buffer[],
    drains: 0,
    ended: false,
    errors: [] as Error[],
    onMessage: (m: Uint8Array) => h.messages.push(Buffer.from(m)),
    onDrain: () => h.drains++,
    onEnd: () => (h.ended = true),
    onError: (e: Error) => h.errors.push(e),
  };
  return h;
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('data channel message pipe', () => {
  it('keeps message boundaries, joins pieces, and holds messages that arrive before start()', async () => {
    const [ra, rb] = await openPair();
    const pa = createChannelPipe(ra.channel);
    const pb = createChannelPipe(rb.channel);
    const hb = collect();
    expect(pa.write([[Buffer.from('he'), Buffer.from('llo')], [Buffer.from('world')]])).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    pb.start(hb);
    await until(() => hb.messages.length === 2);
    expect(hb.messages.map(String)).toEqual(['hello', 'world']);
    expect(pa.stats.messagesSent).toBe(2);
    pa.start(collect());
  });

  it('signals backpressure and drains', async () => {
    const [ra, rb] = await openPair();
    const pa = createChannelPipe(ra.channel, {
      sendHighWaterBytes: 256 << 10,
      sendLowWaterBytes: 64 << 10,
    });
    const ha = collect();
    pa.start(ha);
    const hb = collect();
    createChannelPipe(rb.channel).start(hb);
    const chunk = Buffer.alloc(60_000, 1);
    let ok = true;
    let n = 0;
    while (ok && n < 1000) {
      ok = pa.write([[chunk]]);
      n++;
    }
    expect(ok).toBe(false);
    await until(() => ha.drains === 1);
    await until(() => hb.messages.length === n);
    expect(hb.messages.every((m) => m.length === 60_000)).toBe(true);
  });

  it('reports the remote closing as onEnd, and refuses oversized messages', async () => {
    const [ra, rb] = await openPair();
    const pa = createChannelPipe(ra.channel, { maxMessageBytes: 4096 });
    const ha = collect();
    pa.start(ha);
    const hb = collect();
    const pb = createChannelPipe(rb.channel);
    pb.start(hb);
    pb.end();
    await until(() => ha.ended);
    const [rc] = await openPair();
    const pc = createChannelPipe(rc.channel, { maxMessageBytes: 4096 });
    const hc = collect();
    pc.start(hc);
    expect(pc.write([[Buffer.alloc(5000)]])).toBe(false);
    expect(hc.errors[0]).toBeInstanceOf(RangeError);
  });

  it('treats a text message as a protocol violation', async () => {
    const [ra, rb] = await openPair();
    const hb = collect();
    createChannelPipe(rb.channel).start(hb);
    ra.channel.sendMessage('text');
    await until(() => hb.errors.length === 1);
    expect(hb.errors[0]!.name).toBe('DataChannelError');
  });
});
