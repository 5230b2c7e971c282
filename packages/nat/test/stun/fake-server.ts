// A STUN server double on 127.0.0.1 that answers Binding requests with a configured (possibly
// fake) mapped address, and honours CHANGE-REQUEST from a second socket when told to.
import { createSocket, type Socket } from 'node:dgram';

export interface FakeStunOptions {
  /** Mapped endpoint to report; default: the real source. */
  mapped?: (from: { address: string; port: number }) => { address: string; port: number };
  /** Answer CHANGE-REQUESTs (from the alternate socket) and advertise OTHER-ADDRESS. */
  rfc5780?: boolean;
  /** Which change requests get an answer (simulates the client's NAT filtering). */
  answerChange?: (change: { ip: boolean; port: boolean }) => boolean;
  /** Raw reply instead of a proper response. */
  raw?: (request: Buffer) => Buffer | undefined;
}

export interface FakeStun {
  port: number;
  requests: number;
  close(): Promise<void>;
}

function xorAddress(address: string, port: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x0020, 0);
  b.writeUInt16BE(8, 2);
  b.writeUInt8(0, 4);
  b.writeUInt8(1, 5);
  b.writeUInt16BE(port ^ 0x2112, 6);
  const ip = address.split('.').map(Number);
  const cookie = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 0; i < 4; i++) b.writeUInt8((ip[i] as number) ^ (cookie[i] as number), 8 + i);
  return b;
}

function otherAddress(address: string, port: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x802c, 0);
  b.writeUInt16BE(8, 2);
  b.writeUInt8(1, 5);
  b.writeUInt16BE(port, 6);
  address.split('.').forEach((x, i) => b.writeUInt8(Number(x), 8 + i));
  return b;
}

async function bind(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

export async function startFakeStun(options: FakeStunOptions = {}): Promise<FakeStun> {
  const main = await bind();
  const alt = await bind();
  const state = { requests: 0 };
  main.on('message', (msg, rinfo) => {
    state.requests++;
    if (options.raw !== undefined) {
      const r = options.raw(msg);
      if (r !== undefined) main.send(r, rinfo.port, rinfo.address);
      return;
    }
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001) return;
    let change = { ip: false, port: false };
    if (msg.length >= 28 && msg.readUInt16BE(20) === 0x0003) {
      const flags = msg.readUInt32BE(24);
      change = { ip: (flags & 4) !== 0, port: (flags & 2) !== 0 };
    }
    const m = options.mapped?.(rinfo) ?? rinfo;
    const attrs = [xorAddress(m.address, m.port)];
    if (options.rfc5780 === true) attrs.push(otherAddress('127.0.0.1', alt.address().port));
    const body = Buffer.concat(attrs);
    const head = Buffer.alloc(20);
    head.writeUInt16BE(0x0101, 0);
    head.writeUInt16BE(body.length, 2);
    msg.copy(head, 4, 4, 20);
    const reply = Buffer.concat([head, body]);
    if (change.ip || change.port) {
      if (options.rfc5780 === true && (options.answerChange?.(change) ?? true))
        alt.send(reply, rinfo.port, rinfo.address);
      return;
    }
    main.send(reply, rinfo.port, rinfo.address);
  });
  return {
    port: main.address().port,
    get requests() {
      return state.requests;
    },
    close: async () => {
      await Promise.all([
        new Promise<void>((r) => main.close(() => r())),
        new Promise<void>((r) => alt.close(() => r())),
      ]);
    },
  };
}
