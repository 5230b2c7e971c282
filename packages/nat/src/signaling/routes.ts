// Choosing how to signal a peer, best first: over a connection we already have to it (a relayed
// connection before its upgrade, say); through the relay named in the address being dialed;
// through a relay from its presence (PeerRouting); through the DHT mailboxes.
import type { AbortOptions, Address, Connection, PeerId, PeerRouting } from '@detr/interface';
import { randomBytes } from 'node:crypto';
import { NoSignalingRouteError } from '../errors.js';
import type { SignalRoutes } from '../webrtc/transport.js';
import type { SignalPath } from './path.js';
import type { ConnectionSource, Signaling } from './service.js';

export interface SignalRoutesComponents {
  signaling: Signaling;
  connections: ConnectionSource & {
    dial(target: Address, options?: AbortOptions): Promise<Connection>;
  };
  routing?: PeerRouting;
}

/**
 * The signal routes of a node.
 *
 * @example
 * ```ts
 * const routes = createSignalRoutes({ signaling, connections: manager, routing: dht })
 * const path = await routes.open(peer, { signal })
 * ```
 */
export function createSignalRoutes(components: SignalRoutesComponents): SignalRoutes {
  const { signaling, connections, routing } = components;
  const sessionId = (): Uint8Array => new Uint8Array(randomBytes(16));
  const open = (c: Connection | undefined): c is Connection =>
    c !== undefined && c.status === 'open';

  const viaRelay = async (
    target: PeerId,
    relay: Address,
    signal: AbortSignal,
  ): Promise<SignalPath | undefined> => {
    if (relay.peer === undefined) return undefined;
    const existing = connections
      .connections()
      .find((c) => c.remotePeer.toString() === relay.peer && c.status === 'open');
    const conn = existing ?? (await connections.dial(relay, { signal }).catch(() => undefined));
    if (!open(conn)) return undefined;
    return signaling.openPath(target, conn, sessionId()).catch(() => undefined);
  };

  return {
    async open(target, { signal, address, via }) {
      if (via !== undefined && via.status === 'open')
        return signaling.openPath(target, via, sessionId());
      const direct = connections.connections(target).find((c) => c.status === 'open');
      if (direct !== undefined) return signaling.openPath(target, direct, sessionId());
      if (address?.relay !== undefined) {
        const p = await viaRelay(target, address.relay, signal);
        if (p !== undefined) return p;
      }
      if (routing !== undefined) {
        const where = await routing.findPeer(target, { signal }).catch(() => undefined);
        for (const a of where?.relayAddresses ?? []) {
          if (a.relay === undefined) continue;
          const p = await viaRelay(target, a.relay, signal);
          if (p !== undefined) return p;
        }
      }
      const dht = signaling.openDhtPath(target, sessionId());
      if (dht !== undefined) return dht;
      throw new NoSignalingRouteError();
    },
    onOffer(handler) {
      signaling.onOffer(handler);
    },
  };
}
