import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

const sockets = new WeakMap<Server, Set<Socket>>();

/** Listens on 127.0.0.1 on an ephemeral port. */
export async function listenLoopback(
  onSocket: (s: Socket) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    onSocket(socket);
  });
  const open = new Set<Socket>();
  sockets.set(server, open);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Connects to 127.0.0.1:port with Nagle off. */
export async function connectLoopback(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Closes a server, destroying its open sockets. */
export async function closeServer(server: Server): Promise<void> {
  for (const socket of sockets.get(server) ?? []) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
