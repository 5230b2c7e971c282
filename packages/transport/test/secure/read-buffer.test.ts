// Kernel sockets reading into the process's shared read buffer: the hooks exist on this Node for
// both accepted and dialed sockets (a Node upgrade that removes them fails here, not silently
// slower), bytes buffered before the switch come first, and 'end' still arrives.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  SHARED_READ_BYTES,
  canReadIntoSharedBuffer,
  readIntoSharedBuffer,
} from '../../src/secure/read-buffer.js';

const open: (Server | Socket)[] = [];
afterEach(async () => {
  // Sockets first (reverse order): a server's close waits for its connections.
  for (const x of open.splice(0).reverse()) {
    if ('destroy' in x) x.destroy();
    else await new Promise<void>((resolve) => x.close(() => resolve()));
  }
});

/** An accepted (paused, as the TCP transport accepts) and a dialed socket, connected. */
async function pair(): Promise<{ accepted: Socket; dialed: Socket }> {
  const server = createServer({ pauseOnConnect: true });
  open.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepting = once(server, 'connection') as Promise<[Socket]>;
  const dialed = connect(port, '127.0.0.1');
  open.push(dialed);
  await once(dialed, 'connect');
  const [accepted] = await accepting;
  open.push(accepted);
  return { accepted, dialed };
}

/** Waits (a bounded number of turns) until `socket` has buffered at least `n` bytes. */
async function buffered(socket: Socket, n: number): Promise<void> {
  for (let i = 0; i < 1000 && socket.readableLength < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(socket.readableLength).toBeGreaterThanOrEqual(n);
}

describe('shared read buffer', () => {
  it('is available to accepted and dialed sockets on this Node', async () => {
    const { accepted, dialed } = await pair();
    expect(canReadIntoSharedBuffer(accepted)).toBe(true);
    expect(canReadIntoSharedBuffer(dialed)).toBe(true);
  });

  it('delivers buffered bytes first, then reads into one buffer shared by every socket', async () => {
    const { accepted, dialed } = await pair();
    const other = await pair();
    dialed.write('hello ');
    accepted.pause();
    accepted.read(0); // start reading: the bytes wait in the stream's buffer
    await buffered(accepted, 6);
    const reads: Buffer[] = [];
    const copies: string[] = [];
    const onData = (): void => {
      throw new Error('no data event after the switch');
    };
    const switched = readIntoSharedBuffer(accepted, (chunk) => {
      reads.push(chunk);
      copies.push(chunk.toString());
    });
    expect(switched).toBe(true);
    accepted.on('data', onData);
    const otherReads: Buffer[] = [];
    expect(readIntoSharedBuffer(other.dialed, (chunk) => otherReads.push(chunk))).toBe(true);
    other.dialed.resume();
    accepted.resume();
    expect(copies).toEqual(['hello ']);
    dialed.write('world');
    other.accepted.write('elsewhere');
    for (let i = 0; i < 1000 && (copies.length < 2 || otherReads.length < 1); i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(copies.join('')).toBe('hello world');
    const last = reads.at(-1)!;
    expect(last.buffer.byteLength).toBe(SHARED_READ_BYTES);
    // The other connection reads into the same memory.
    expect(otherReads[0]!.buffer).toBe(last.buffer);
    const ended = once(accepted, 'end');
    dialed.end();
    await ended;
    expect(canReadIntoSharedBuffer(accepted)).toBe(false); // already switched
  });

  it('is refused for a destroyed socket', async () => {
    const { accepted } = await pair();
    accepted.destroy();
    expect(canReadIntoSharedBuffer(accepted)).toBe(false);
    expect(readIntoSharedBuffer(accepted, () => {})).toBe(false);
  });
});
