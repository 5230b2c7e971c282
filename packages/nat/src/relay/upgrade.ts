// A detr connection over a relayed circuit: the circuit is a raw byte stream through the relay, so
// the connection runs the full detr handshake (aecomms' performHandshake) and the Noise secure
// channel end to end, and the multiplexer over that. The responder confirms with a first sealed
// message (its token and gate checks come after the initiator's last handshake message), so a
// refused dial fails instead of returning a connection that closes at once.
import type { Duplex } from 'node:stream';
import { performHandshake, type SecureSession } from '@detr/aecomms';
import type { PenaltyReason } from '@detr/interface';
import { ClosedError, openGate, systemClock, withPeer } from '@detr/interface';
import type { HandshakeComponents } from '../webrtc/handshake.js';
import type { MessagePipeLike, MuxFactory } from '../webrtc/secure.js';
import type { StreamUpgrader } from './transport.js';

const ACCEPTED = Uint8Array.of(0x01);

interface Handlers {
  onMessage(m: Uint8Array): void;
  onDrain(): void;
  onEnd(): void;
  onError(err: Error, penalty?: PenaltyReason): void;
}

/**
 * A message pipe over a Noise session and the byte stream under it: each mux message is one
 * sealed Noise message. `first` is what the session opened before the pipe existed.
 */
function sessionPipe(session: SecureSession, stream: Duplex, first: Uint8Array[]): MessagePipeLike {
  let handlers: Handlers | undefined;
  let done = false;
  const highWater = 1 << 20;
  const fail = (err: Error, penalty?: PenaltyReason): void => {
    if (done) return;
    done = true;
    session.close();
    stream.destroy();
    handlers?.onError(err, penalty);
  };
  return {
    maxMessageBytes: session.maxPlaintextBytes,
    start(h) {
      handlers = h;
      for (const m of first.splice(0)) h.onMessage(m);
      stream.on('data', (chunk: Buffer) => {
        if (done) return;
        try {
          session.open(chunk, (m) => h.onMessage(m));
        } catch (err) {
          fail(err as Error, 'invalid-message');
        }
      });
      stream.on('drain', () => {
        if (!done) h.onDrain();
      });
      stream.on('end', () => {
        if (done) return;
        try {
          session.end();
        } catch (err) {
          fail(err as Error, 'invalid-message');
          return;
        }
        done = true;
        h.onEnd();
      });
      stream.on('error', (err: Error) => fail(err));
      stream.on('close', () => {
        if (!done) fail(new ClosedError('relayed stream closed'));
      });
      stream.resume();
    },
    write(messages) {
      if (done) return false;
      try {
        stream.cork();
        for (const parts of messages) for (const b of session.seal(parts)) stream.write(b);
        stream.uncork();
      } catch (err) {
        fail(err as Error);
        return false;
      }
      return stream.writableLength < highWater;
    },
    end() {
      if (!stream.destroyed) stream.end();
    },
    destroy() {
      done = true;
      session.close();
      stream.destroy();
    },
  };
}

/** Resolves with the first message(s) the session opens from `stream` (the responder's accept). */
function firstMessage(
  session: SecureSession,
  stream: Duplex,
  signal?: AbortSignal,
): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const got: Uint8Array[] = [];
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      signal?.removeEventListener('abort', onEnd);
    };
    const onData = (chunk: Buffer): void => {
      try {
        session.open(chunk, (m) => got.push(m));
      } catch (err) {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (got.length > 0) {
        cleanup();
        stream.pause();
        resolve(got);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new ClosedError('refused by the remote'));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    signal?.addEventListener('abort', onEnd, { once: true });
    stream.resume();
  });
}

/**
 * A {@link StreamUpgrader} from aecomms' handshake and a multiplexer factory: what nat's circuit
 * transport needs, with the same security as every other detr connection.
 *
 * @example
 * ```ts
 * const upgrade = createStreamUpgrader({ identity, network, token, tokenVerifier, gate, mux })
 * ```
 */
export function createStreamUpgrader(
  components: HandshakeComponents & { mux: MuxFactory },
  init: { timeoutMs?: number } = {},
): StreamUpgrader {
  const gate = components.gate ?? openGate;
  return async (stream, options) => {
    const initiator = options.direction === 'outbound';
    let session: SecureSession | undefined;
    try {
      const result = await performHandshake(stream, {
        role: initiator ? 'initiator' : 'responder',
        identity: components.identity,
        network: components.network,
        ...(components.token !== undefined ? { token: components.token } : {}),
        tokenVerifier: components.tokenVerifier,
        ...(options.expectedPeer !== undefined ? { expectedPeer: options.expectedPeer } : {}),
        allowPeer: (peer) => gate.allowPeer(peer, options.direction, options.remoteAddress),
        clock: components.clock ?? systemClock,
        ...(init.timeoutMs !== undefined ? { timeoutMs: init.timeoutMs } : {}),
        ...(components.provider !== undefined ? { provider: components.provider } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      session = result.session;
      const first: Uint8Array[] = [];
      if (result.remainder.length > 0) session.open(result.remainder, (m) => first.push(m));
      if (initiator) {
        if (first.length === 0)
          first.push(...(await firstMessage(session, stream, options.signal)));
        const accept = first.shift();
        if (accept === undefined || accept.length !== 1 || accept[0] !== 0x01) {
          throw new ClosedError('refused by the remote');
        }
      } else {
        for (const b of session.seal([ACCEPTED])) stream.write(b);
      }
      const pipe = sessionPipe(session, stream, first);
      return components.mux(pipe, {
        remote: {
          peer: result.remote.peer,
          protocolVersion: result.remote.protocolVersion,
          features: result.remote.features,
          networkId: result.remote.networkId,
        },
        remoteAddress:
          options.remoteAddress.peer === undefined
            ? withPeer(options.remoteAddress, result.remote.peer.toString())
            : options.remoteAddress,
        direction: options.direction,
        transport: options.transport,
      });
    } catch (err) {
      session?.close();
      stream.destroy();
      throw err;
    }
  };
}
