import { afterEach, describe, expect, it } from '@jest/globals';
import { createMemoryStore } from '@detr/stored';
import type { Store } from '@detr/stored';
import {
  createMessaging,
  MSG_PROTOCOL,
  type Messaging,
  type ReceivedMessage,
} from '../src/messaging.js';
import { peerIdFromString } from '../src/identity.js';
import { PeerUnreachableError } from '../src/errors.js';
import { frameBytes } from '../src/framing.js';
import { MessageType, Qos } from '@detr/protocol';
import { memoryPeers, until } from './support.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(storeA?: Store) {
  const { hub, peers } = await memoryPeers(2);
  const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]];
  const ma = createMessaging(
    { connections: a.cm, peerIdFromString, ...(storeA ? { store: storeA } : {}) },
    { retransmitIntervalMs: 100, ackTimeoutMs: 5000 },
  );
  const mb = createMessaging(
    { connections: b.cm, peerIdFromString },
    { retransmitIntervalMs: 100 },
  );
  await ma.start();
  await mb.start();
  cleanups.push(async () => {
    await ma.stop();
    await mb.stop();
    await a.cm.stop();
    await b.cm.stop();
  });
  return { hub, a, b, ma, mb };
}

describe('messaging', () => {
  it('delivers fire-and-forget and acknowledged messages in order', async () => {
    const { b, a, ma, mb } = await pair();
    const got: ReceivedMessage[] = [];
    mb.onMessage('chat', (m) => {
      got.push(m);
    });
    expect(await ma.send(b.identity.peerId, 'chat', enc('one'))).toEqual({
      status: 'sent',
      seq: 0,
    });
    const r = await ma.send(b.identity.peerId, 'chat', enc('two'), { qos: 'ack' });
    expect(r).toEqual({ status: 'acked', seq: 1 });
    await until(() => got.length === 2);
    expect(got.map((m) => dec(m.data))).toEqual(['one', 'two']);
    expect(got[0]!.from.equals(a.identity.peerId)).toBe(true);
    expect(ma.stats().outbox).toBe(0);
  });

  it('refuses bad arguments', async () => {
    const { b, ma } = await pair();
    await expect(ma.send(b.identity.peerId, '', enc('x'))).rejects.toThrow(TypeError);
    await expect(ma.send(b.identity.peerId, 'c', 'x' as any)).rejects.toThrow(TypeError);
  });

  it('fire-and-forget to an unreachable peer fails with PeerUnreachableError', async () => {
    const { hub, b, ma } = await pair();
    hub.setOffline(b.identity.peerId, true);
    await expect(ma.send(b.identity.peerId, 'c', enc('x'))).rejects.toBeInstanceOf(
      PeerUnreachableError,
    );
  });

  it('keeps acknowledged messages and retransmits them after reconnect, delivering each once', async () => {
    const store = createMemoryStore();
    await store.start();
    cleanups.push(() => store.stop());
    const { hub, b, ma, mb } = await pair(store);
    const got: string[] = [];
    mb.onMessage('c', (m) => {
      got.push(dec(m.data));
    });
    hub.setOffline(b.identity.peerId, true);
    const sends = [1, 2, 3].map((i) =>
      ma.send(b.identity.peerId, 'c', enc(`m${i}`), { qos: 'ack' }),
    );
    await until(() => ma.stats().outbox === 3);
    expect(store.namespace('outbox').count()).toBeGreaterThanOrEqual(3);
    hub.setOffline(b.identity.peerId, false);
    const results = await Promise.all(sends);
    expect(results.map((r) => r.status)).toEqual(['acked', 'acked', 'acked']);
    await until(() => got.length === 3);
    expect(got).toEqual(['m1', 'm2', 'm3']);
    expect(ma.stats().outbox).toBe(0);
    expect(
      store
        .namespace('outbox')
        .scan({ prefix: b.identity.peerId.toString() + '/' })
        .next().done,
    ).toBe(true);
  });

  it('the receiver drops a retransmitted duplicate', async () => {
    const { a, b, mb } = await pair();
    const got: string[] = [];
    mb.onMessage('c', (m) => {
      got.push(dec(m.data));
    });
    // Speak the protocol by hand: the same seq twice.
    const conn = await a.cm.dial(b.identity.peerId);
    const s = await conn.newStream(MSG_PROTOCOL);
    const f = frameBytes(MessageType.MsgData, {
      channel: 'c',
      seq: 1,
      qos: Qos.QOS_ACKNOWLEDGED,
      payload: enc('x'),
    });
    s.write(f);
    s.write(f);
    s.write(
      frameBytes(MessageType.MsgData, {
        channel: 'c',
        seq: 2,
        qos: Qos.QOS_ACKNOWLEDGED,
        payload: enc('y'),
      }),
    );
    await until(() => mb.stats().duplicates === 1 && got.length === 2);
    expect(got).toEqual(['x', 'y']);
    s.destroy();
  });

  it('garbage on the stream is penalised and the stream reset, without a crash', async () => {
    const { hub, a, b } = await pair();
    void hub;
    const penalties: string[] = [];
    const mc = createMessaging({
      connections: b.cm,
      peerIdFromString,
      peerReporter: { penalize: (_p, r) => penalties.push(r), reward: () => {} },
    });
    // Replace b's handler with one that reports.
    await mc.start();
    cleanups.push(() => mc.stop());
    const conn = await a.cm.dial(b.identity.peerId);
    const s = await conn.newStream(MSG_PROTOCOL);
    s.on('error', () => {});
    s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    await until(() => penalties.length === 1);
    expect(penalties).toEqual(['invalid-message']);
  });
});

export type { Messaging };
