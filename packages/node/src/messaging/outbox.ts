// The sender's state per peer and the persisted outbox (namespace `outbox` of the store): each
// unacknowledged message under `<peer>/<seq hex>`, the next sequence number under `<peer>#seq`.
import type { PeerId, Stream } from '@detr/interface';
import { MessageType, MsgData } from '@detr/protocol';
import type { Namespace } from '@detr/stored';
import { frameBytes } from '../framing.js';
import type { SendResult } from './types.js';

export interface Waiter {
  resolve(r: SendResult): void;
  reject(err: Error): void;
}

export interface PeerOut {
  nextSeq: number;
  /** seq → encoded MsgData frame, in insertion (= seq) order. */
  unacked: Map<number, { frame: Uint8Array; channel: string; sentAtMs: number }>;
  waiters: Map<number, Waiter>;
  stream: Stream | undefined;
  opening: Promise<Stream> | undefined;
  retrying: boolean;
}

export interface PeerIn {
  cumulative: number;
  above: Set<number>;
}

export const MAX_ABOVE = 4096;

/** The outbox key of an unacknowledged message. */
export const pad = (n: number): string => n.toString(16).padStart(14, '0');

/** A fresh sender state. */
export function newPeerOut(): PeerOut {
  return {
    nextSeq: 1,
    unacked: new Map(),
    waiters: new Map(),
    stream: undefined,
    opening: undefined,
    retrying: false,
  };
}

/**
 * Reads the persisted outbox into sender states; entries that do not parse are skipped.
 */
export function loadOutbox(
  ns: Namespace<Uint8Array>,
  peerIdFromString: (text: string) => PeerId,
  state: (peer: PeerId) => PeerOut,
): void {
  for (const entry of ns.scan()) {
    const key = Buffer.from(entry.key).toString('utf8');
    const m = /^([a-z0-9]+)([/#])(.*)$/.exec(key);
    if (m === null) continue;
    let peer: PeerId;
    try {
      peer = peerIdFromString(m[1] as string);
    } catch {
      continue;
    }
    const st = state(peer);
    if (m[2] === '#') {
      st.nextSeq = Math.max(st.nextSeq, Number(Buffer.from(entry.value).toString('utf8')) || 1);
      continue;
    }
    const seq = parseInt(m[3] as string, 16);
    try {
      const msg = MsgData.decode(entry.value);
      st.unacked.set(seq, {
        frame: frameBytes(MessageType.MsgData, msg),
        channel: msg.channel,
        sentAtMs: 0,
      });
      st.nextSeq = Math.max(st.nextSeq, seq + 1);
    } catch {
      continue;
    }
  }
}
