// Token revocations: lists arrive on the gossip topic (or from the admin node itself), are checked
// against the network's admin keys, installed in the transport's token verifier (so revoked peers
// are refused at their next handshake), and cut the connections of the revoked tokens' holders
// only (the stack remembers which token each authenticated peer presented).
import type { Logger, PeerId } from '@detr/interface';
import { SignedEnvelope } from '@detr/protocol';
import type { Stack } from './net/stack.js';
import { parseRevocations, type Network, type Revocations } from './networks.js';

/** The gossip topic revocation lists travel on. */
export const REVOCATION_TOPIC = '/detr/network/revocations';

/** The revocation list in force and what applying a newer one does. */
export interface RevocationState {
  readonly current: Revocations | undefined;
  /** Applies a list received from the network; returns its seq when it was newer. */
  receive(text: string): number | undefined;
  /** Applies a list this node made (an admin). */
  apply(r: Revocations): void;
  /** Cuts the connections of revoked holders (again: after a reconnect race). */
  cut(): number;
}

/**
 * Keeps the revocation list of a node.
 *
 * @example
 * ```ts
 * const revocations = createRevocationState({ network, stack, logger }, initialText)
 * pubsub.subscribe(REVOCATION_TOPIC, (m) => revocations.receive(decode(m.data)))
 * ```
 */
export function createRevocationState(
  c: { network: Network; stack: Stack; logger: Logger; onCut?: (peer: PeerId) => void },
  initial?: string,
): RevocationState {
  let current = initial !== undefined ? parseRevocations(initial, c.network) : undefined;
  const cut = (): number => {
    const revoked = current?.revoked;
    if (revoked === undefined) return 0;
    let n = 0;
    for (const conn of c.stack.connections.connections()) {
      const id = c.stack.tokenOf(conn.remotePeer);
      if (id === undefined || !revoked.has(id)) continue;
      n++;
      c.logger.info({ peer: conn.remotePeer.toString() }, 'token revoked: connection cut');
      c.stack.connections.keepAlive(conn.remotePeer, false);
      conn.abort();
      c.onCut?.(conn.remotePeer);
    }
    return n;
  };
  const install = (r: Revocations): void => {
    current = r;
    try {
      c.stack.tokens.updateRevocationList(
        SignedEnvelope.decode(new Uint8Array(Buffer.from(r.text, 'base64url'))),
      );
    } catch (err) {
      c.logger.warn({ err: String(err) }, 'revocation list refused by the token verifier');
    }
    cut();
  };
  return {
    get current() {
      return current;
    },
    receive(text) {
      try {
        const r = parseRevocations(text, c.network);
        if (r.seq <= (current?.seq ?? 0)) return undefined;
        install(r);
        return r.seq;
      } catch {
        return undefined; // not signed by an admin of this network: ignored
      }
    },
    apply: install,
    cut,
  };
}
