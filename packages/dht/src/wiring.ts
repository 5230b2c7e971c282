// Builds the state shared by the DHT's modules (the Ctx) and the services around it: record
// rules and validators, the record store, the routing table, replication, maintenance and the
// RPC server.
import { cryptoRng, noopLogger, noopPeerReporter, systemClock } from '@detr/interface';
import type { DhtConfig } from './config.js';
import { TOUCHED_SLOTS, type Ctx } from './context.js';
import { DhtEmitter } from './events.js';
import { aecommsPeerIds, createEd25519Verifier } from './identity.js';
import { kadIdOfPeer } from './keys.js';
import { Maintenance } from './maintenance/bootstrap.js';
import { Replicator } from './maintenance/replication.js';
import { createLocator, withPlacementCheck } from './records/locate.js';
import type { RecordRules, RecordValidator } from './records/record.js';
import { RecordStore } from './records/store.js';
import { mutableValidator, presenceValidator } from './records/validators.js';
import { RoutingTable, type Contact } from './routing/table.js';
import { ping } from './rpc/client.js';
import { createServer, type Server } from './rpc/server.js';
import type { DhtComponents } from './types.js';

/** The parts of one DHT node. */
export interface Parts {
  readonly ctx: Ctx;
  readonly replicator: Replicator;
  readonly maintenance: Maintenance;
  readonly server: Server;
}

export function wire(components: DhtComponents, cfg: DhtConfig): Parts {
  const self = components.signer.peerId;
  const selfId = kadIdOfPeer(self);
  const clock = components.clock ?? systemClock;
  const verifier = components.verifier ?? createEd25519Verifier();
  const peerIds = components.peerIds ?? aecommsPeerIds;
  const bans = components.bans;
  const log = (components.logger ?? noopLogger).child({ component: 'dht' });
  const validators = new Map<string, RecordValidator>([
    ['m', mutableValidator],
    ['presence', presenceValidator(peerIds)],
    ...Object.entries(cfg.validators).map(
      ([ns, v]) => [ns, withPlacementCheck(v, peerIds)] as const,
    ),
  ]);
  const rules: RecordRules = {
    networkId: cfg.networkId,
    verifier,
    validators,
    maxValueBytes: cfg.maxValueBytes,
    maxTtlSec: cfg.maxTtlSec,
    maxClockSkewMs: cfg.maxClockSkewMs,
  };
  const locate = createLocator(cfg.networkId, validators, peerIds);
  let onAdded: (c: Contact) => void = () => {};
  let onChanged: () => void = () => {};
  const ctx: Ctx = {
    cfg,
    self,
    selfId,
    clock,
    rng: components.rng ?? cryptoRng,
    log,
    reporter: components.reporter ?? noopPeerReporter,
    network: components.network,
    signer: components.signer,
    verifier,
    peerIds,
    rules,
    locate,
    events: new DhtEmitter(log),
    banned: bans === undefined ? () => false : (p) => bans.isBanned(p),
    records: new RecordStore(components.store, cfg.networkId, clock, cfg, { locate, validators }),
    table: new RoutingTable({
      selfId,
      k: cfg.k,
      pingCount: cfg.livenessPingCount,
      livenessCheckAfterMs: cfg.livenessCheckAfterMs,
      diversity: cfg.ipDiversity,
      clock,
      ping: (c) => ping(ctx, c),
      onAdded: (c) => {
        onAdded(c);
        onChanged();
      },
      onRemoved: () => onChanged(),
    }),
    stats: {
      peers: 0,
      records: 0,
      recordBytes: 0,
      requestsSent: 0,
      requestsFailed: 0,
      timeouts: 0,
      requestsReceived: 0,
      invalidMessages: 0,
      recordsRefused: 0,
      recordsStored: 0,
      lookups: 0,
      penalties: 0,
    },
    touched: new Float64Array(TOUCHED_SLOTS),
    running: false,
    requestId: 0,
  };
  const replicator = new Replicator(ctx);
  const maintenance = new Maintenance(ctx, replicator, components.store, components.peerSource);
  const server = createServer(ctx);
  onAdded = (c) => replicator.peerAdded(c);
  onChanged = () => maintenance.markDirty();
  return { ctx, replicator, maintenance, server };
}
