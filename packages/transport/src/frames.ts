// Frame decoding with the protocol's default options, checked here. A decoder built with custom
// options (`types`, `versions`, `maxFrameBytes`) gets its own 16 KiB type table, which would cost
// every connection and QUIC stream that much memory; the defaults share one table.
import type { Frame } from '@detr/protocol';
import {
  FrameTooLargeError,
  UnknownTypeError,
  UnsupportedVersionError,
  createFrameDecoder,
  decodeFrame,
  type FrameDecoder,
} from '@detr/protocol';

/** What a frame must be on a given channel. */
export interface FrameRules {
  /** Largest frame, version and type included. */
  readonly maxFrameBytes: number;
  /** Accepted versions. */
  readonly versions: readonly number[];
  /** Accepted type codes. */
  readonly types: readonly number[];
}

/**
 * Throws the protocol's typed error when `frame` breaks `rules` (version or type).
 *
 * @throws {UnsupportedVersionError|UnknownTypeError}
 */
export function checkFrame(frame: Frame, rules: FrameRules): Frame {
  if (!rules.versions.includes(frame.version)) {
    throw new UnsupportedVersionError(frame.version, rules.versions);
  }
  if (!rules.types.includes(frame.type)) throw new UnknownTypeError(frame.type);
  return frame;
}

/** A streaming decoder enforcing `rules`; throws only ProtocolError. */
export class CheckedDecoder {
  private readonly decoder: FrameDecoder = createFrameDecoder();

  constructor(private readonly rules: FrameRules) {}

  push(chunk: Uint8Array): Frame[] {
    const frames = this.decoder.push(chunk);
    for (const f of frames) {
      if (f.body.length > this.rules.maxFrameBytes) {
        throw new FrameTooLargeError(f.body.length, this.rules.maxFrameBytes);
      }
      checkFrame(f, this.rules);
    }
    // A frame still arriving may not grow past the limit either.
    if (this.decoder.bufferedBytes > this.rules.maxFrameBytes + 5) {
      throw new FrameTooLargeError(this.decoder.bufferedBytes, this.rules.maxFrameBytes);
    }
    return frames;
  }

  end(): void {
    this.decoder.end();
  }
}

/**
 * Decodes exactly one frame (length prefix included) and checks it against `rules`.
 *
 * @throws {ProtocolError} for anything that is not one valid frame
 */
export function decodeCheckedFrame(bytes: Uint8Array, rules: FrameRules): Frame {
  return checkFrame(decodeFrame(bytes), rules);
}
