// The WebRTC transport: dial = staged ICE negotiation through signaling, then the detr handshake
// bound to the DTLS session, then the multiplexer; listen = answer inbound negotiations.
import type { Connection, ConnectionHandler, Listener, PeerId } from '@detr/interface';
import {
  AbortError,
  ClosedError,
  combineSignals,
  noopLogger,
  noopPeerReporter,
  openGate,
  parseAddress,
  systemClock,
  withPeer,
  shutdownController,
} from '@detr/interface';
import { HandshakeError, peerIdFromString } from '@detr/aecomms';
import { NoSignalingRouteError } from '../errors.js';
import { parseIceServers } from '../ice/config.js';
import type { SignalPath } from '../signaling/path.js';
import type { OfferHandler } from '../signaling/service.js';
import { UNKNOWN_PROFILE, type NatProfile } from '../strategy.js';
import {
  answerStrategy,
  dialStrategy,
  isSignalingViolation,
  type NegotiationContext,
} from './negotiate.js';
import { releaseWebRTC, retainWebRTC } from './runtime.js';
import { candidateAddress } from './sdp.js';
import { secureSession } from './secure.js';
import type {
  WebRTCTransportComponents,
  WebRTCTransportInit,
  WebRTCTransportStats,
  WebRTCDialOptions,
  WebRTCTransport,
} from './transport-types.js';

export type {
  SignalRoutes,
  WebRTCTransportComponents,
  WebRTCTransportInit,
  WebRTCTransportStats,
  WebRTCDialOptions,
  WebRTCTransport,
} from './transport-types.js';

/**
 * Creates the WebRTC transport.
 *
 * @throws {TypeError} for a malformed ICE server configuration
 * @example
 * ```ts
 * const webrtc = createWebRTCTransport({ peerId, handshake, mux, signaling, natProfile }, { iceServers })
 * const conn = await webrtc.dial(parseAddress(`/ip4/0.0.0.0/udp/0/webrtc/p2p/${peer}`))
 * ```
 */
export function createWebRTCTransport(
  components: WebRTCTransportComponents,
  init: WebRTCTransportInit = {},
): WebRTCTransport {
  const clock = components.clock ?? systemClock;
  const log = (components.logger ?? noopLogger).child({ component: 'nat:webrtc' });
  const gate = components.gate ?? openGate;
  const reporter = components.reporter ?? noopPeerReporter;
  const profile = components.natProfile ?? (() => UNKNOWN_PROFILE);
  const ice = parseIceServers(init.iceServers ?? []);
  const o = {
    directTimeoutMs: init.directTimeoutMs ?? 2500,
    dialTimeoutMs: init.dialTimeoutMs ?? 20_000,
    answerTimeoutMs: init.answerTimeoutMs ?? 15_000,
    maxInbound: init.maxInboundNegotiations ?? 16,
    maxInboundPerPeer: init.maxInboundPerPeer ?? 4,
    features: init.features ?? [],
    profileTtlMs: init.profileTtlMs ?? 600_000,
    ...(init.maxMessageBytes !== undefined ? { maxMessageBytes: init.maxMessageBytes } : {}),
  };
  const stats: WebRTCTransportStats = {
    dials: 0,
    dialsFailed: 0,
    direct: 0,
    relayed: 0,
    inbound: 0,
    inboundRefused: 0,
    signalingViolations: 0,
  };
  // The runtime stays up while the transport is open: node-datachannel's cleanup() runs once,
  // when the last transport (and session) closes.
  retainWebRTC();
  const shutdown = shutdownController();
  const connections = new Set<Connection>();
  const profiles = new Map<string, { profile: NatProfile; at: number }>();
  const inboundByPeer = new Map<string, number>();
  let inbound = 0;
  let listening: { onConnection: ConnectionHandler; bindAddress: string | undefined } | undefined;
  let closed = false;

  const ctx = (bindAddress: string | undefined): NegotiationContext => ({
    ice,
    profile,
    now: () => clock.now(),
    logger: log,
    ...(bindAddress !== undefined ? { bindAddress } : {}),
    ...(init.portRangeBegin !== undefined ? { portRangeBegin: init.portRangeBegin } : {}),
    ...(init.portRangeEnd !== undefined ? { portRangeEnd: init.portRangeEnd } : {}),
  });
  const remember = (peer: PeerId, p: NatProfile): void => {
    if (p.mapping === 'unknown' && p.filtering === 'unknown') return;
    profiles.set(peer.toString(), { profile: p, at: clock.now() });
    if (profiles.size > 4096) profiles.delete(profiles.keys().next().value as string);
  };
  const known = (peer: PeerId): NatProfile | undefined => {
    const e = profiles.get(peer.toString());
    return e !== undefined && clock.now() - e.at <= o.profileTtlMs ? e.profile : undefined;
  };
  const track = (conn: Connection, path: 'direct' | 'relayed'): void => {
    connections.add(conn);
    if (path === 'direct') stats.direct++;
    else stats.relayed++;
    conn.onClose(() => connections.delete(conn));
  };

  /**
   * Penalizes a remote that broke the signaling protocol, when the signals surely came from it: a
   * stream on a connection to it, or its signed DHT record. A mutual peer forwarding signals could
   * forge them, so those are dropped without a penalty to anyone.
   */
  const violation = (peer: PeerId, route: SignalPath['route'] | undefined, err: unknown): void => {
    if (!isSignalingViolation(err)) return;
    stats.signalingViolations++;
    if (route === 'direct' || route === 'dht') reporter.penalize(peer, 'protocol-violation');
  };

  const onOffer: OfferHandler = (path, from, offer) => {
    const key = from.toString();
    const mine = inboundByPeer.get(key) ?? 0;
    if (
      closed ||
      listening === undefined ||
      inbound >= o.maxInbound ||
      mine >= o.maxInboundPerPeer
    ) {
      stats.inboundRefused++;
      path.send({ kind: 'close', reason: 'busy' }).catch(() => {});
      path.close();
      return;
    }
    const { onConnection, bindAddress } = listening;
    inbound++;
    inboundByPeer.set(key, mine + 1);
    const signal = combineSignals(shutdown.signal, AbortSignal.timeout(o.answerTimeoutMs));
    void (async () => {
      try {
        const neg = await answerStrategy(ctx(bindAddress), path, offer, {
          timeoutMs: o.answerTimeoutMs,
          signal,
        });
        remember(from, neg.remoteProfile);
        const remoteAddress = candidateAddress(neg.result.remoteCandidate);
        if (!gate.allowInbound(remoteAddress)) {
          neg.session.close();
          stats.inboundRefused++;
          return;
        }
        // Signaled as `from`: the handshake must authenticate `from`, or it is refused before the
        // responder's accept byte (the dialer's dial fails).
        const conn = await secureSession(neg, {
          direction: 'inbound',
          expectedPeer: from,
          remoteAddress,
          handshake: components.handshake,
          mux: components.mux,
          features: o.features,
          signal,
          ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
        });
        if (closed) {
          conn.abort(new ClosedError('transport closed'));
          return;
        }
        track(conn, neg.result.path);
        stats.inbound++;
        onConnection(conn);
      } catch (err) {
        log.debug({ peer: key, err: (err as Error).message }, 'inbound negotiation failed');
        violation(from, path.route, err);
        if (err instanceof HandshakeError && err.reason === 'unexpected-peer') {
          // Signaled as one peer, authenticated as another: a sender we know for sure (a
          // connection to it, a signed record) lied about who would answer.
          stats.inboundRefused++;
          if (path.route === 'direct' || path.route === 'dht')
            reporter.penalize(from, 'handshake-failed');
        }
      } finally {
        inbound--;
        const n = (inboundByPeer.get(key) ?? 1) - 1;
        if (n <= 0) inboundByPeer.delete(key);
        else inboundByPeer.set(key, n);
      }
    })();
  };

  return {
    name: 'webrtc',
    stats,
    canDial(address) {
      return address.transport === 'webrtc' && address.relay === undefined;
    },
    async dial(address, options: WebRTCDialOptions = {}) {
      if (closed) throw new ClosedError('transport closed');
      const target =
        address.peer !== undefined ? peerIdFromString(address.peer) : options.expectedPeer;
      if (target === undefined)
        throw new NoSignalingRouteError('a WebRTC address must name its peer');
      if (options.expectedPeer !== undefined && !options.expectedPeer.equals(target)) {
        throw new TypeError('the address names another peer than expectedPeer');
      }
      if (!gate.allowDial(address, target)) throw new AbortError('the gate refused the dial');
      stats.dials++;
      const signal = combineSignals(
        options.signal,
        shutdown.signal,
        AbortSignal.timeout(o.dialTimeoutMs),
      );
      let route: SignalPath['route'] | undefined;
      try {
        const remoteProfile = known(target);
        const neg = await dialStrategy(ctx(listening?.bindAddress ?? init.bindAddress), {
          openPath: async (s) => {
            const path = await components.signaling.open(target, {
              signal: s,
              address,
              ...(options.via !== undefined ? { via: options.via } : {}),
            });
            route = path.route;
            return path;
          },
          ...(remoteProfile !== undefined ? { remoteProfile } : {}),
          directTimeoutMs: o.directTimeoutMs,
          lastTimeoutMs: options.directOnly === true ? o.directTimeoutMs * 2 : o.dialTimeoutMs,
          ...(options.directOnly === true ? { directOnly: true } : {}),
          signal,
        });
        remember(target, neg.remoteProfile);
        const conn = await secureSession(neg, {
          direction: 'outbound',
          expectedPeer: target,
          remoteAddress: candidateAddress(neg.result.remoteCandidate),
          handshake: components.handshake,
          mux: components.mux,
          features: o.features,
          signal,
          ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
        });
        if (closed) {
          conn.abort(new ClosedError('transport closed'));
          throw new ClosedError('transport closed');
        }
        track(conn, neg.result.path);
        return conn;
      } catch (err) {
        stats.dialsFailed++;
        violation(target, route, err);
        if (options.signal?.aborted === true)
          throw new AbortError(undefined, { cause: options.signal.reason });
        throw err;
      }
    },
    listen(address, onConnection) {
      if (closed) return Promise.reject(new ClosedError('transport closed'));
      if (address.transport !== 'webrtc')
        return Promise.reject(new TypeError('not a WebRTC address'));
      const bindAddress =
        address.host === '0.0.0.0' || address.host === '::' ? init.bindAddress : address.host;
      listening = { onConnection, bindAddress };
      components.signaling.onOffer(onOffer);
      const advertised = withPeer(
        parseAddress(`/ip${address.family === 6 ? 6 : 4}/${address.host}/udp/0/webrtc`),
        components.peerId.toString(),
      );
      return Promise.resolve<Listener>({
        addresses: () => [advertised],
        close: () => {
          if (listening?.onConnection === onConnection) {
            listening = undefined;
            components.signaling.onOffer(undefined);
          }
          return Promise.resolve();
        },
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      listening = undefined;
      components.signaling.onOffer(undefined);
      shutdown.abort(new ClosedError('transport closed'));
      await Promise.all(
        [...connections].map((c) =>
          c.close({ signal: AbortSignal.timeout(2000) }).catch(() => c.abort()),
        ),
      );
      connections.clear();
      releaseWebRTC();
    },
  };
}
