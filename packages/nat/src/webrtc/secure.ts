// From an open WebRTC session to an authenticated detr connection: the detr handshake (Noise XX,
// token check, gate — aecomms' performHandshake) runs on data channel 0, bound to this DTLS
// session; the multiplexer then runs on channel 1, one mux message per SCTP message.
//
// The binding: each side hashes the two DTLS certificate fingerprints it sees (the offerer's, then
// the answerer's — its own from its description, the remote's as DTLS verified it) and advertises
// the hash as a handshake feature, which the Noise handshake authenticates. A relay that spliced
// two DTLS sessions (its own certificate towards each side) cannot forward the Noise handshake
// without both sides seeing different hashes, and cannot change what they advertise: both refuse
// the connection before any application byte. (aecomms binds only the network id into the
// prologue; the feature carries this binding inside the same authenticated handshake.)
import { createHash } from 'node:crypto';
import type { Address, Connection, Direction, PeerId, RemoteInfo } from '@detr/interface';
import type { Duplex } from 'node:stream';
import { AbortError, ClosedError, DetrError, withPeer } from '@detr/interface';
import type { ChannelPipe } from './channel-pipe.js';
import { createChannelDuplex } from './channel-duplex.js';
import { createChannelPipe } from './channel-pipe.js';
import type { Negotiated } from './negotiate.js';

/** Prefix of the handshake feature carrying the DTLS binding. */
export const DTLS_BINDING_FEATURE = 'dtls-binding/1:';

/**
 * The remote's handshake did not carry our view of the DTLS session: someone in the middle
 * terminated DTLS on each side, or the remote is not a detr WebRTC peer. The connection is closed.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof ChannelBindingError) reporter.penalize(peer, 'handshake-failed') }
 * ```
 */
export class ChannelBindingError extends DetrError {
  constructor(message = 'Handshake not bound to this DTLS session', options?: { cause?: unknown }) {
    super(message, 'CHANNEL_BINDING', options);
    this.name = 'ChannelBindingError';
  }
}

/**
 * The binding feature for a session whose offerer and answerer certificate fingerprints are
 * `offerer` and `answerer` (`"sha-256 AB:…"`).
 *
 * @example
 * ```ts
 * dtlsBindingFeature(result.localFingerprint, result.remoteFingerprint) // on the offerer's side
 * ```
 */
export function dtlsBindingFeature(offerer: string, answerer: string): string {
  const digest = createHash('sha256')
    .update(`detr-webrtc-v1\n${offerer}\n${answerer}`)
    .digest('base64url');
  return `${DTLS_BINDING_FEATURE}${digest}`;
}

/** What the detr handshake yields (the subset of aecomms' result used here). */
export interface HandshakeOutcome {
  readonly remote: RemoteInfo;
  /** Bytes read past the handshake's last message. */
  readonly remainder: Uint8Array;
}

/** Longest wait for the channel to close after a graceful connection close. */
const GRACEFUL_CLOSE_MS = 2000;

/** The responder's "accepted" byte on the handshake channel (after its token and gate checks). */
const ACCEPTED = 0x01;

/** Resolves with the first byte of `stream` (or `first`), rejects on end, error or abort. */
function firstByte(
  stream: Duplex,
  first: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (first.length > 0) return Promise.resolve(first[0] as number);
  return new Promise<number>((resolve, reject) => {
    const done = (err: Error | undefined, byte?: number): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(byte as number);
    };
    const onData = (chunk: Buffer): void => done(undefined, chunk[0]);
    const onEnd = (): void => done(new ClosedError('refused by the remote'));
    const onError = (err: Error): void => done(err);
    const onAbort = (): void => done(new AbortError(undefined, { cause: signal?.reason }));
    if (signal?.aborted === true) return onAbort();
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.resume();
  });
}

/** Runs the detr handshake over a byte stream with extra features. */
export type HandshakeRunner = (
  stream: Duplex,
  options: {
    role: 'initiator' | 'responder';
    features: readonly string[];
    expectedPeer?: PeerId;
    remoteAddress: Address;
    signal?: AbortSignal;
  },
) => Promise<HandshakeOutcome>;

/**
 * A two-way channel of whole messages under the multiplexer (the shape of `@detr/transport`'s
 * `MessagePipe`): a data channel here, a Noise session over a relayed stream for circuits.
 */
export type MessagePipeLike = Omit<ChannelPipe, 'stats'>;

/** Builds the multiplexed connection over an authenticated message pipe, and starts it. */
export type MuxFactory = (
  pipe: MessagePipeLike,
  info: {
    readonly remote: RemoteInfo;
    readonly remoteAddress: Address;
    readonly direction: Direction;
    readonly transport: string;
  },
) => Connection;

/**
 * Authenticates a negotiated session and returns the connection. Closes the session on failure,
 * and ties their lifetimes together on success.
 *
 * @throws {ChannelBindingError} when the handshake is not bound to this DTLS session
 * @throws {HandshakeError} (aecomms) / {TimeoutError} / {AbortError} from the handshake
 */
export async function secureSession(
  neg: Negotiated,
  options: {
    direction: Direction;
    expectedPeer?: PeerId;
    /** Where the remote is (its selected candidate), without /p2p/. */
    remoteAddress: Address;
    handshake: HandshakeRunner;
    mux: MuxFactory;
    features: readonly string[];
    maxMessageBytes?: number;
    signal?: AbortSignal;
  },
): Promise<Connection> {
  const { result } = neg;
  const outbound = options.direction === 'outbound';
  const binding = outbound
    ? dtlsBindingFeature(result.localFingerprint, result.remoteFingerprint)
    : dtlsBindingFeature(result.remoteFingerprint, result.localFingerprint);
  // Channel 1's messages wait in the pipe until the handshake succeeded.
  const pipe = createChannelPipe(
    result.channel,
    options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {},
  );
  const hs = createChannelDuplex(result.handshakeChannel);
  // Its failures reach us through the handshake (or do not matter once it is done).
  hs.on('error', () => {});
  // node-datachannel does not always report a channel closing when its PeerConnection fails:
  // the session does, so it ends the handshake channel (and whatever waits on it).
  neg.session.onClose(() => {
    hs.destroy(new ClosedError('WebRTC session closed'));
  });
  try {
    const { remote, remainder } = await options.handshake(hs, {
      role: outbound ? 'initiator' : 'responder',
      features: [...options.features, binding],
      ...(options.expectedPeer !== undefined ? { expectedPeer: options.expectedPeer } : {}),
      remoteAddress: options.remoteAddress,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    if (!remote.features.includes(binding)) throw new ChannelBindingError();
    // The responder checks the initiator's token and gate only after the last handshake message:
    // the dial succeeds once it says so.
    if (outbound) {
      if ((await firstByte(hs, remainder, options.signal)) !== ACCEPTED)
        throw new ClosedError('refused by the remote');
      hs.destroy();
    } else {
      hs.write(Buffer.from([ACCEPTED]));
      // The initiator closes channel 0 once it read the byte; do not hold it longer than that.
      hs.resume();
      hs.once('end', () => hs.destroy());
      setTimeout(() => hs.destroy(), 10_000).unref();
    }
    const conn = options.mux(pipe, {
      remote: {
        ...remote,
        features: remote.features.filter((f) => !f.startsWith(DTLS_BINDING_FEATURE)),
      },
      remoteAddress: withPeer(options.remoteAddress, remote.peer.toString()),
      direction: options.direction,
      transport: 'webrtc',
    });
    // An abrupt close ends the session at once. A graceful one first lets the channel carry our
    // last messages (GoAway, end) and the remote's end: closing the PeerConnection right away
    // would drop what SCTP still buffers, and the remote would see an abrupt close.
    conn.onClose((err) => {
      if (err !== undefined) {
        neg.session.close();
        return;
      }
      const timer = setTimeout(() => neg.session.close(), GRACEFUL_CLOSE_MS);
      timer.unref();
      void pipe.whenClosed().then(() => {
        clearTimeout(timer);
        neg.session.close();
      });
    });
    // A session ending under an open connection fails it; one that ends while the connection
    // closes gracefully (the remote tore its side down first) lets the close finish.
    neg.session.onClose((err) => {
      if (conn.status === 'open') conn.abort(err ?? new ClosedError('WebRTC session closed'));
    });
    return conn;
  } catch (err) {
    hs.destroy();
    pipe.destroy();
    neg.session.close();
    throw err;
  }
}
