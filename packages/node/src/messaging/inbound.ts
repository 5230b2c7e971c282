// The receiving side of /detr/msg/1: MsgData frames in, inbound limits (fluent), duplicates
// dropped by sequence number (window of MAX_ABOVE above the cumulative mark; a new stream starting
// at seq 1 resets it), MsgAck (cumulative + selective) back on the same stream. Hostile bytes
// reset the stream and are penalised.
import type { Connection, Logger, PeerId, PeerReporter, Stream } from '@detr/interface';
import { MessageType, Qos } from '@detr/protocol';
import type { InboundLimiter } from '@detr/fluent';
import { frameBytes, readMessages, writeBytes } from '../framing.js';
import { MAX_ABOVE, type PeerIn } from './outbox.js';
import { isHostile, type MessagingStats, type ReceivedMessage } from './types.js';

/** What the receiver needs. */
export interface Receiver {
  readonly inb: Map<string, PeerIn>;
  readonly counters: MessagingStats;
  readonly inbound: InboundLimiter | undefined;
  readonly reporter: PeerReporter;
  readonly log: Logger;
  deliver(message: ReceivedMessage): void;
}

/** Hostile bytes are penalised; a closing stream is not. */
export function onStreamError(r: Receiver, peer: PeerId, stream: Stream, err: unknown): void {
  if (isHostile(err)) {
    r.counters.invalid++;
    r.reporter.penalize(peer, 'invalid-message');
    r.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'invalid message');
  }
  stream.reset(err instanceof Error ? err : undefined);
}

/** Reads one inbound messaging stream to its end. */
export async function receive(r: Receiver, stream: Stream, conn: Connection): Promise<void> {
  const peer = conn.remotePeer;
  const key = peer.toString();
  stream.on('error', () => {});
  let first = true;
  const acks: number[] = [];
  let ackScheduled = false;
  const sendAcks = (): void => {
    ackScheduled = false;
    const st = r.inb.get(key);
    if (st === undefined || acks.length === 0 || stream.destroyed) return;
    const selective = acks.filter((s) => s > st.cumulative).slice(-256);
    acks.length = 0;
    void writeBytes(
      stream,
      frameBytes(MessageType.MsgAck, { cumulativeSeq: st.cumulative, selectiveSeqs: selective }),
    ).catch(() => {});
  };
  try {
    for await (const { type, message } of readMessages(stream, [MessageType.MsgData])) {
      if (type !== MessageType.MsgData) continue;
      if (
        r.inbound !== undefined &&
        !r.inbound.accept(peer, message.channel, message.payload.length)
      ) {
        continue;
      }
      if (message.qos === Qos.QOS_ACKNOWLEDGED) {
        if (message.seq === 0) throw new RangeError('acknowledged message without seq');
        let st = r.inb.get(key);
        if (st === undefined || (first && message.seq === 1)) {
          st = { cumulative: 0, above: new Set() };
          r.inb.set(key, st);
        }
        first = false;
        const dup = message.seq <= st.cumulative || st.above.has(message.seq);
        if (dup) r.counters.duplicates++;
        else {
          st.above.add(message.seq);
          while (st.above.has(st.cumulative + 1)) st.above.delete(++st.cumulative);
          if (st.above.size > MAX_ABOVE) {
            // A gap that never fills: give up on it rather than grow.
            const min = Math.min(...st.above);
            st.cumulative = min;
            st.above.delete(min);
          }
        }
        acks.push(message.seq);
        if (!ackScheduled) {
          ackScheduled = true;
          setImmediate(sendAcks);
        }
        if (dup) continue;
      }
      first = false;
      r.deliver({
        from: peer,
        channel: message.channel,
        data: message.payload,
        via: 'direct',
      });
    }
  } catch (err) {
    onStreamError(r, peer, stream, err);
  }
}
