// What the NAT service knows of its NAT (`node.nat.status`): mapping and filtering behaviour from
// STUN discovery, AutoNAT's reachability verdict from peers dialing us back, public and relay
// addresses; and the listeners told when it changes.
import type { AbortOptions, Address, Clock, Connection, Logger } from '@detr/interface';
import { combineSignals } from '@detr/interface';
import { createReachabilityTally, requestDialBack } from '../autonat.js';
import type { IceConfig } from '../ice/config.js';
import {
  discoverNatBehaviour,
  type FilteringBehaviour,
  type MappingBehaviour,
} from '../stun/behaviour.js';
import type { NatProfile } from '../strategy.js';
import type { NatStatus } from './types.js';

export interface StatusTrackerComponents {
  ice: IceConfig;
  clock: Clock;
  logger: Logger;
  bindAddress?: string;
  /** Our listen addresses and open connections (AutoNAT asks connected peers to dial them). */
  connections: {
    addresses(): readonly Address[];
    connections(): readonly Connection[];
  };
  /** Circuit addresses through relays holding a reservation for us. */
  relayAddresses(): Address[];
}

export interface StatusTracker {
  readonly status: () => NatStatus;
  readonly profile: () => NatProfile;
  /** Runs NAT behaviour discovery (STUN) now. */
  readonly discover: (options?: AbortOptions) => Promise<NatStatus>;
  /** Asks up to three connected peers for a dial-back. */
  readonly autonatRound: (options?: AbortOptions) => Promise<void>;
  readonly onStatus: (listener: (status: NatStatus) => void) => () => void;
  /** Tells the listeners the current status. */
  readonly emit: () => void;
}

/** Peers asked for a dial-back per AutoNAT round. */
const AUTONAT_PEERS_PER_ROUND = 3;
/** Time one dial-back request may take. */
const AUTONAT_REQUEST_TIMEOUT_MS = 15_000;

export function createStatusTracker(
  c: StatusTrackerComponents,
  init: { autonatThreshold: number },
): StatusTracker {
  const tally = createReachabilityTally(init.autonatThreshold, c.clock);
  const listeners = new Set<(s: NatStatus) => void>();
  let behaviour: {
    mapping: MappingBehaviour;
    filtering: FilteringBehaviour;
    publicAddresses: string[];
    checkedAtMs: number;
  } = { mapping: 'unknown', filtering: 'unknown', publicAddresses: [], checkedAtMs: 0 };

  const status = (): NatStatus => ({
    mapping: behaviour.mapping,
    filtering: behaviour.filtering,
    reachability: tally.reachability,
    publicAddresses: behaviour.publicAddresses,
    relayAddresses: c.relayAddresses().map(String),
    turn: c.ice.hasTurn,
    checkedAtMs: behaviour.checkedAtMs,
  });
  const emit = (): void => {
    const s = status();
    for (const l of listeners) {
      try {
        l(s);
      } catch {
        // listeners must not throw
      }
    }
  };

  return {
    status,
    emit,
    profile: () => ({
      mapping: behaviour.mapping,
      filtering: behaviour.filtering,
      reachability: tally.reachability,
    }),
    onStatus: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    discover: async (options = {}) => {
      if (c.ice.stunServers.length === 0) return status();
      try {
        const b = await discoverNatBehaviour(c.ice.stunServers, {
          ...(c.bindAddress !== undefined ? { bindAddress: c.bindAddress } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        });
        behaviour = {
          mapping: b.mapping,
          filtering: b.filtering,
          publicAddresses: [b.mapped, b.mapped2]
            .filter((e) => e !== undefined)
            .map((e) => `${e.address}:${e.port}`)
            .filter((v, i, all) => all.indexOf(v) === i),
          checkedAtMs: c.clock.now(),
        };
      } catch (err) {
        c.logger.debug({ err: (err as Error).message }, 'NAT discovery failed');
        behaviour = { ...behaviour, checkedAtMs: c.clock.now() };
      }
      emit();
      return status();
    },
    autonatRound: async (options = {}) => {
      const addresses = c.connections
        .addresses()
        .filter((a) => a.relay === undefined && (a.transport === 'tcp' || a.transport === 'quic'));
      if (addresses.length === 0) return;
      const peers = c.connections
        .connections()
        .filter((conn) => conn.status === 'open' && conn.transport !== 'relay');
      const before = tally.reachability;
      for (const conn of peers.slice(0, AUTONAT_PEERS_PER_ROUND)) {
        try {
          tally.record(
            conn.remotePeer,
            await requestDialBack(conn, addresses, {
              signal: combineSignals(
                options.signal,
                AbortSignal.timeout(AUTONAT_REQUEST_TIMEOUT_MS),
              ),
            }),
          );
        } catch {
          // the peer does not offer AutoNAT, or failed: no verdict from it
        }
        if (options.signal?.aborted === true) return;
      }
      if (tally.reachability !== before) emit();
    },
  };
}
