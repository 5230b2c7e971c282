// From a connected byte duplex (a TCP socket, an in-process pipe) to a Connection: the Noise XX
// handshake with the token check and the gate's allowPeer inside it (aecomms), then the
// multiplexer over the secure session. Nothing reaches a stream handler before this succeeded.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  HandshakeError,
  performHandshake,
  type HandshakeOptions,
  type HandshakeResult,
} from '@detr/aecomms';
import type { Address, ConnectionHandler, Direction, PeerId } from '@detr/interface';
import type { ResolvedComponents, ResolvedInit } from './components.js';
import { bounded } from './dial-util.js';
import { MuxConnection } from './mux/connection.js';
import type { OpenSet } from './open-set.js';
import { createNoisePipe } from './secure/noise-pipe.js';

export interface UpgradeOptions {
  direction: Direction;
  remoteAddress: Address;
  transport: string;
  expectedPeer?: PeerId | undefined;
  signal?: AbortSignal | undefined;
}

/** Random per process, so ids of different processes do not collide in shared logs. */
const ID_PREFIX = randomBytes(4).toString('hex');
let idCounter = 0;

/** A short connection id, unique in the process (not a secret). */
export function connectionId(transport: string): string {
  // join() makes one flat string (a template literal would keep three strings per id).
  return [transport, '-', ID_PREFIX, (++idCounter).toString(36)].join('');
}

/**
 * Penalizes an authenticated remote whose handshake failed a later check (token, version), as
 * the QUIC transport does for a failed hello. A gate refusal is policy, not misbehaviour; an
 * unexpected identity is a stale address (or ourselves): neither is penalized. A failure before
 * the remote was authenticated names no peer, so there is no one to penalize.
 */
function reportHandshakeFailure(c: ResolvedComponents, err: unknown): void {
  if (!(err instanceof HandshakeError) || err.peer === undefined) return;
  if (err.reason === 'peer-refused' || err.reason === 'unexpected-peer') return;
  c.reporter.penalize(err.peer, 'handshake-failed');
}

/**
 * Runs the handshake on `socket` and returns the started connection. On any failure the socket is
 * destroyed and the error (HandshakeError, TimeoutError, AbortError) is thrown.
 */
export async function upgrade(
  socket: Duplex,
  c: ResolvedComponents,
  o: ResolvedInit,
  options: UpgradeOptions,
): Promise<MuxConnection> {
  const { direction, remoteAddress } = options;
  let result: HandshakeResult;
  // Optional fields are set one by one: conditional spreads would build a slow object each time.
  const ho: HandshakeOptions = {
    role: direction === 'outbound' ? 'initiator' : 'responder',
    identity: c.identity,
    network: c.network,
    tokenVerifier: c.tokenVerifier,
    allowPeer: (peer) => c.gate.allowPeer(peer, direction, remoteAddress),
    features: o.features,
    timeoutMs: o.handshakeTimeoutMs,
    clock: c.clock,
  };
  if (c.token !== undefined) ho.token = c.token;
  if (options.expectedPeer !== undefined) ho.expectedPeer = options.expectedPeer;
  if (options.signal !== undefined) ho.signal = options.signal;
  if (c.provider !== undefined) ho.provider = c.provider;
  try {
    result = await performHandshake(socket, ho);
  } catch (err) {
    socket.destroy();
    reportHandshakeFailure(c, err);
    throw err;
  }
  const pipe = createNoisePipe(result.session, socket, {
    leftover: result.remainder,
    clock: c.clock,
    endTimeoutMs: o.closeTimeoutMs,
    kernelSocket: socket instanceof Socket,
  });
  const conn = new MuxConnection(
    {
      pipe,
      registry: c.registry,
      reporter: c.reporter,
      clock: c.clock,
      logger: c.logger,
    },
    {
      id: connectionId(options.transport),
      remote: {
        peer: result.remote.peer,
        protocolVersion: result.remote.protocolVersion,
        features: result.remote.features,
        networkId: result.remote.networkId,
      },
      remoteAddress,
      direction,
      transport: options.transport,
      version: result.remote.protocolVersion,
    },
    o,
  );
  conn.start();
  if (direction === 'outbound') {
    // The listener checks our token after the handshake completed on our side: its first frame
    // (an initial ping) says it accepted us; a refusal closes the socket instead.
    try {
      await bounded(
        conn.ready(),
        {
          signal: options.signal,
          clock: c.clock,
          timeoutMs: o.handshakeTimeoutMs,
          what: 'Handshake',
        },
        () => {},
      );
    } catch (err) {
      conn.abort();
      if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
        throw err;
      }
      throw new HandshakeError('closed', { cause: err });
    }
  }
  return conn;
}

/**
 * The inbound path of a socket transport (TCP, memory): refused after close or by the gate
 * (destroyed), else held in `open` while the handshake runs; a connection that comes out of it is
 * held too and handed to `onConnection`, a failure only logged (and penalized by `upgrade`).
 */
export function upgradeInbound(
  socket: Duplex,
  remote: Address,
  transport: string,
  t: { c: ResolvedComponents; o: ResolvedInit; shutdown: AbortSignal; open: OpenSet },
  onConnection: ConnectionHandler,
): void {
  if (t.shutdown.aborted || !t.c.gate.allowInbound(remote)) {
    socket.destroy();
    return;
  }
  // No abort listener per handshake: the transport's close() destroys every socket it tracks,
  // which fails a handshake in flight.
  t.open.track(socket);
  upgrade(socket, t.c, t.o, {
    direction: 'inbound',
    remoteAddress: remote,
    transport,
  }).then(
    (conn) => {
      if (t.shutdown.aborted) {
        conn.abort();
        return;
      }
      t.open.adopt(conn);
      onConnection(conn);
    },
    (err: unknown) =>
      t.c.logger.debug({ err, remote: remote.toString() }, 'inbound handshake failed'),
  );
}
