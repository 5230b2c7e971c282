// Where the noise pipe's kernel sockets read: one reused 512 KiB buffer for every socket of the
// process, instead of the fresh 64 KiB buffer Node allocates for each read.
//
// Measured on loopback (2-core machine, one process): raw TCP reading into a reused 256–512 KiB
// buffer moves 6.6–7.2 GB/s against 1.6–2.5 GB/s with Node's 64 KiB reads, and detr bulk gained
// 9–30% (alternating rounds, 512 KiB; 256 KiB gave +10%, 1 MiB +17%, 128 KiB nothing). Fewer and
// larger reads mean fewer syscalls and fewer window updates; a reused buffer stays in the cache
// and is never a fresh allocation to fault in and collect.
//
// One buffer serves every socket because a read and its callback run to completion on the event
// loop before the next read starts: the callback opens every whole frame into buffers of its own
// and copies the start of a split frame out (SecureSession.detachPartialFrame), so nothing
// refers to the buffer once it returns.
//
// Node offers this as `net.connect({ onread })` for sockets it dials, but not for the sockets a
// server accepts. Those get the same hooks the `onread` option sets (the socket's private
// `kBuffer`/`kBufferCb` fields and its handle's `useUserBuffer`), found by name; where they are not
// what this Node version has, the socket keeps Node's own reads, and the test of this module fails.
import type { Socket } from 'node:net';

/** Bytes of the shared read buffer (see above for the measurements behind it). */
export const SHARED_READ_BYTES = 512 * 1024;

let shared: Buffer | undefined;

/** The private fields behind `onread`, as Node 20 names them. */
interface UserBufferFields {
  buffer: symbol;
  callback: symbol;
}

function userBufferFields(socket: Socket): UserBufferFields | undefined {
  let buffer: symbol | undefined;
  let callback: symbol | undefined;
  for (const s of Object.getOwnPropertySymbols(socket)) {
    if (s.description === 'kBuffer') buffer = s;
    else if (s.description === 'kBufferCb') callback = s;
  }
  if (buffer === undefined || callback === undefined) return undefined;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Not yet reading into a buffer of its own (null is what the constructor sets).
  if (fields[buffer] !== null || fields[callback] !== null) return undefined;
  return { buffer, callback };
}

/** The socket's handle, with the method the `onread` option uses. */
function handleOf(socket: Socket): { useUserBuffer(buf: Uint8Array): void } | undefined {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  return typeof handle?.useUserBuffer === 'function'
    ? (handle as { useUserBuffer(buf: Uint8Array): void })
    : undefined;
}

/** True when `socket` can read into the shared buffer (this Node has the hooks, it is open). */
export function canReadIntoSharedBuffer(socket: Socket): boolean {
  return (
    !socket.destroyed && handleOf(socket) !== undefined && userBufferFields(socket) !== undefined
  );
}

/**
 * Switches `socket` to reading into the shared buffer, calling `onRead` with each read (a view of
 * the shared buffer, valid only until `onRead` returns). Bytes the socket had already read and
 * buffered are passed to `onRead` first. From then on the socket emits no 'data' events ('end',
 * 'error' and 'close' as before). Returns false, changing nothing, when it cannot (see
 * {@link canReadIntoSharedBuffer}; also when `onRead` destroyed the socket meanwhile).
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (chunk: Buffer) => void): boolean {
  const handle = handleOf(socket);
  const fields = userBufferFields(socket);
  if (socket.destroyed || handle === undefined || fields === undefined) return false;
  for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) {
    onRead(c);
  }
  // onRead may have failed the connection: a destroyed socket's handle is closed.
  if (socket.destroyed) return false;
  const buf = (shared ??= Buffer.allocUnsafeSlow(SHARED_READ_BYTES));
  const f = socket as unknown as Record<symbol, unknown>;
  f[fields.buffer] = buf;
  f[fields.callback] = (n: number, b: Buffer): void => onRead(b.subarray(0, n));
  handle.useUserBuffer(buf);
  return true;
}
