import { afterEach, describe, expect, it } from '@jest/globals';
import { createChannelDuplex } from '../../src/webrtc/channel-duplex.js';
import { webrtcUsers } from '../../src/webrtc/runtime.js';
import {
  createRtcSession,
  sdpFingerprint,
  type RtcSession,
  type SessionSignal,
} from '../../src/webrtc/session.js';

const sessions: RtcSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
  expect(webrtcUsers()).toBe(0);
});

function pair(
  options: { trickle?: boolean; tamper?: (s: SessionSignal) => SessionSignal } = {},
): [RtcSession, RtcSession] {
  const peer: { b?: RtcSession } = {};
  const queueA: SessionSignal[] = [];
  const toB = (s: SessionSignal): void => {
    const t = options.tamper ? options.tamper(s) : s;
    if (peer.b) peer.b.receive(t);
    else queueA.push(t);
  };
  const a: RtcSession = createRtcSession({
    role: 'offerer',
    iceServers: [],
    policy: 'all',
    bindAddress: '127.0.0.1',
    trickle: options.trickle ?? true,
    onSignal: (s) => setImmediate(() => toB(s)),
  });
  const b = createRtcSession({
    role: 'answerer',
    iceServers: [],
    policy: 'all',
    bindAddress: '127.0.0.1',
    trickle: options.trickle ?? true,
    onSignal: (s) => setImmediate(() => a.receive(s)),
  });
  peer.b = b;
  for (const s of queueA.splice(0)) b.receive(s);
  sessions.push(a, b);
  return [a, b];
}

describe('RTC session on loopback', () => {
  it('opens a data channel with trickled candidates and reports a direct host path', async () => {
    const [a, b] = pair();
    const [ra, rb] = await Promise.all([
      a.open({ signal: AbortSignal.timeout(10_000) }),
      b.open({ signal: AbortSignal.timeout(10_000) }),
    ]);
    expect(ra.path).toBe('direct');
    expect(ra.localCandidate).toMatch(/^host 127\.0\.0\.1:/);
    // Each side's view of the other's certificate is what the other has in its description.
    expect(ra.remoteFingerprint).toBe(rb.localFingerprint);
    expect(rb.remoteFingerprint).toBe(ra.localFingerprint);
    expect(ra.localFingerprint).toMatch(/^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('opens without trickle (one description carrying every candidate)', async () => {
    const [a, b] = pair({ trickle: false });
    const [ra] = await Promise.all([
      a.open({ signal: AbortSignal.timeout(10_000) }),
      b.open({ signal: AbortSignal.timeout(10_000) }),
    ]);
    expect(ra.path).toBe('direct');
  });

  it('carries bytes both ways through the channel duplex, with backpressure, and closes', async () => {
    const [a, b] = pair();
    const [ra, rb] = await Promise.all([a.open(), b.open()]);
    const da = createChannelDuplex(ra.channel);
    const db = createChannelDuplex(rb.channel);
    const total = 8 << 20;
    let got = 0;
    const done = new Promise<void>((resolve) =>
      db.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= total) resolve();
      }),
    );
    const chunk = Buffer.alloc(100_000, 7);
    let writes = 0;
    let waits = 0;
    for (let sent = 0; sent < total; sent += chunk.length) {
      writes++;
      if (!da.write(chunk.subarray(0, Math.min(chunk.length, total - sent)))) {
        waits++;
        await new Promise((r) => da.once('drain', r));
      }
    }
    await done;
    expect(got).toBe(total);
    expect(waits).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(waits);
    const back = new Promise<Buffer>((resolve) => da.once('data', resolve));
    db.write(Buffer.from('pong'));
    expect((await back).toString()).toBe('pong');
    const ended = new Promise<void>((resolve) => db.once('end', resolve));
    db.resume();
    da.end();
    await ended;
  });

  it('fails on a tampered SDP instead of crashing the process', async () => {
    const [a, b] = pair({
      tamper: (s) => (s.kind === 'offer' ? { kind: 'offer', sdp: 'v=0\r\ngarbage' } : s),
    });
    await expect(b.open({ signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    a.close();
    await expect(a.open()).rejects.toThrow();
  });

  it('rejects with a TimeoutError when the remote never answers', async () => {
    const a = createRtcSession({
      role: 'offerer',
      iceServers: [],
      policy: 'all',
      bindAddress: '127.0.0.1',
      onSignal: () => {},
    });
    sessions.push(a);
    await expect(a.open({ signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(a.closed).toBe(true);
  });

  it('extracts the SDP fingerprint', () => {
    expect(sdpFingerprint('v=0\r\na=fingerprint:sha-256 AB:CD\r\n')).toBe('sha-256 AB:CD');
    expect(sdpFingerprint('v=0\r\n')).toBeUndefined();
  });
});
