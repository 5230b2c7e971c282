import { createServer, connect, type AddressInfo } from 'node:net';

/** What the demo measured. */
export interface DemoResult {
  message: string;
  roundTripMs: number;
}

/**
 * The end-to-end path that exists today: two in-process endpoints on 127.0.0.1 exchanging one
 * length-prefixed message over a plain TCP socket. Later issues replace it with a network of
 * detr nodes.
 *
 * @example
 * ```ts
 * const { message } = await runDemo()
 * ```
 */
export async function runDemo(log: (line: string) => void = () => {}): Promise<DemoResult> {
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const text = buf.subarray(4, 4 + buf.readUInt32BE(0)).toString('utf8');
        log(`endpoint B received: ${JSON.stringify(text)}`);
        const reply = Buffer.from(`ack: ${text}`);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(reply.length);
        socket.end(Buffer.concat([header, reply]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  log(`endpoint B listening on 127.0.0.1:${port}`);
  try {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    const text = 'hello from endpoint A';
    const body = Buffer.from(text);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    socket.write(Buffer.concat([header, body]));
    log(`endpoint A sent: ${JSON.stringify(text)}`);
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const reply = Buffer.concat(chunks);
    const message = reply.subarray(4, 4 + reply.readUInt32BE(0)).toString('utf8');
    const roundTripMs = performance.now() - started;
    log(`endpoint A received: ${JSON.stringify(message)} in ${roundTripMs.toFixed(2)} ms`);
    return { message, roundTripMs };
  } finally {
    server.close();
  }
}
