// The inbound side of the stream network: one stream per requester connection, many framed
// requests on it, each answered (in any order) with a framed response carrying its request id.
import type { Logger, PeerReporter, Stream, StreamHandler } from '@detr/interface';
import {
  createFrameDecoder,
  DhtRequest,
  encodeFrame,
  MessageType,
  ProtocolError,
} from '@detr/protocol';
import { DhtInvalidResponseError } from '../errors.js';
import type { RpcHandler } from './network.js';

/** Feeds a stream's bytes to a frame decoder; calls `onFrame` for each frame of `type`. */
export function frames(
  stream: Stream,
  type: MessageType,
  maxFrameBytes: number,
  onFrame: (body: Uint8Array) => void,
  onBad: (err: unknown) => void,
): void {
  const decoder = createFrameDecoder({ maxFrameBytes, types: [type] });
  stream.on('data', (chunk: Uint8Array) => {
    let list;
    try {
      list = decoder.push(chunk);
    } catch (err) {
      onBad(err);
      return;
    }
    for (const f of list) onFrame(f.body);
  });
}

/** What the inbound handler needs from its stream network. */
export interface InboundOptions {
  /** The DHT's handler now (`undefined` once it stopped answering). */
  handler: () => RpcHandler | undefined;
  networkHex: string;
  maxBytes: number;
  /** Requests handled at once on one stream. */
  maxInbound: number;
  reporter: PeerReporter;
  log: Logger;
  /** Registers a stream to be reset on stop (and guards its 'error'). */
  track: (stream: Stream) => void;
}

/** The stream handler of the DHT protocol. */
export function createInboundHandler(o: InboundOptions): StreamHandler {
  const { networkHex, maxBytes, maxInbound, reporter, log } = o;
  return (stream, connection) => {
    o.track(stream);
    if (o.handler() === undefined || connection.remote.networkId !== networkHex) {
      stream.reset();
      return;
    }
    let inFlight = 0;
    const peer = connection.remotePeer;
    const hostile = (err: unknown): void => {
      if (err instanceof ProtocolError || err instanceof DhtInvalidResponseError)
        reporter.penalize(peer, 'invalid-message');
      stream.reset();
    };
    // The requester is done: close our side once every answer is written.
    let ended = false;
    const finish = (): void => {
      if (!stream.destroyed && stream.writable) stream.end();
    };
    stream.once('end', () => {
      ended = true;
      if (inFlight === 0) finish();
    });
    frames(
      stream,
      MessageType.DhtRequest,
      maxBytes,
      (body) => {
        let request: DhtRequest;
        try {
          request = DhtRequest.decode(body);
        } catch (err) {
          hostile(err);
          return;
        }
        const h = o.handler();
        if (h === undefined || inFlight >= maxInbound) {
          if (inFlight >= maxInbound) reporter.penalize(peer, 'rate-limit');
          stream.reset();
          return;
        }
        inFlight++;
        h({ peer, address: connection.remoteAddress, request })
          .then(
            (response) => {
              if (response === undefined || stream.destroyed || !stream.writable) return;
              stream.write(
                encodeFrame(MessageType.DhtResponse, response, { maxFrameBytes: maxBytes }),
              );
            },
            (err: unknown) => log.debug({ err }, 'inbound DHT request failed'),
          )
          .finally(() => {
            inFlight--;
            if (ended && inFlight === 0) finish();
          });
      },
      hostile,
    );
  };
}
