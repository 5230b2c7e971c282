// A man in the middle for tests: relays length-prefixed frames (handshake messages and transport
// frames share the 2-byte big-endian prefix) between two in-memory pairs and lets a test rewrite,
// drop, duplicate or hold them per direction.
import type { Duplex } from 'node:stream';
import { createDuplexPair } from './duplex-pair.js';

/** Frames to forward instead of `frame` (index counts frames in this direction from 0). */
export type FrameRewrite = (frame: Buffer, index: number, stream: Duplex) => Buffer[];

const pass: FrameRewrite = (f) => [f];

function pump(from: Duplex, to: Duplex, rewrite: FrameRewrite): void {
  let buf = Buffer.alloc(0);
  let index = 0;
  from.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const n = buf.readUInt16BE(0);
      if (buf.length < 2 + n) break;
      const frame = buf.subarray(0, 2 + n);
      buf = buf.subarray(2 + n);
      for (const out of rewrite(Buffer.from(frame), index++, to)) if (!to.destroyed) to.write(out);
    }
  });
  from.on('end', () => to.end());
  from.on('close', () => to.destroy());
  to.on('error', () => {});
  from.on('error', () => {});
}

/** `client` and `server` ends connected through a rewriting relay. */
export function createRelay(
  clientToServer: FrameRewrite = pass,
  serverToClient: FrameRewrite = pass,
): { client: Duplex; server: Duplex } {
  const [client, mitmA] = createDuplexPair();
  const [mitmB, server] = createDuplexPair();
  pump(mitmA, mitmB, clientToServer);
  pump(mitmB, mitmA, serverToClient);
  return { client, server };
}
