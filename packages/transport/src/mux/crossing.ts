// A message opened in place arrives as pieces (the socket reads its frame spanned). A MuxData frame
// that runs from one piece into the next is not reassembled: its header is read here and its
// payload goes to the stream piece by piece. Anything else takes the general decoder, which copies.

import { MessageType } from '@detr/protocol';

/** A MuxData frame that starts in a piece and runs past its end. */
export interface CrossingData {
  /** Offset of the frame (its length prefix) in the piece; the frames before it are whole. */
  frameStart: number;
  streamId: number;
  /** Offset of the payload in the piece. */
  payloadStart: number;
  /** Payload bytes of the whole frame. */
  payloadBytes: number;
}

/** Where the last {@link varint} read ended. */
let at = 0;

/** A minimal (canonical) varint of up to 32 bits at `pos` (its end in {@link at}), or -1. */
function varint(bytes: Uint8Array, pos: number): number {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) return -1;
    const b = bytes[pos++] as number;
    value += (b & 0x7f) * mul;
    if (b < 0x80) {
      if ((b === 0 && i > 0) || value > 0xffff_ffff) return -1;
      at = pos;
      return value;
    }
    mul *= 128;
  }
  return -1;
}

/**
 * Walks the frames of `piece` (which starts at a frame boundary) by their length prefixes and
 * returns the last one when it runs past the end and is a MuxData frame of `version` whose header
 * lies wholly in `piece`, written as detr writes it (`08 id 12 len payload`, minimal varints,
 * the payload filling the frame, at most `maxFrameBytes`). Undefined otherwise, also when every
 * frame ends inside: then the general decoder takes the piece.
 */
export function crossingDataFrame(
  piece: Uint8Array,
  version: number,
  maxFrameBytes: number,
): CrossingData | undefined {
  const n = piece.length;
  let pos = 0;
  while (pos < n) {
    const frameStart = pos;
    const length = varint(piece, pos);
    if (length < 0) return undefined;
    const content = at;
    if (content + length <= n) {
      pos = content + length;
      continue;
    }
    if (length > maxFrameBytes || varint(piece, content) !== version) return undefined;
    if (varint(piece, at) !== MessageType.MuxData || piece[at] !== 0x08) return undefined;
    const streamId = varint(piece, at + 1);
    if (streamId <= 0 || piece[at] !== 0x12) return undefined;
    const payloadBytes = varint(piece, at + 1);
    if (payloadBytes <= 0 || at - content + payloadBytes !== length) return undefined;
    return { frameStart, streamId, payloadStart: at, payloadBytes };
  }
  return undefined;
}
