// Inbound requests. Every field is hostile until checked: a bad request gets an error status
// and a penalty, never an exception; a bad record is refused and its sender dropped from the
// routing table. A requester that advertises addresses is pinged back (once, if its bucket has
// room) and only added to the table once it answers.
import type { Address, PeerId } from '@detr/interface';
import { DhtStatus, type DhtResponse, type PeerInfo, type SignedEnvelope } from '@detr/protocol';
import type { Ctx } from '../context.js';
import { InvalidRecordError, QuotaExceededError } from '../errors.js';
import { bytesEqual, bytesKey, ID_BYTES, kadIdOfPeer } from '../keys.js';
import { recordKeyPeer } from '../records/locate.js';
import { openRecord, type DhtRecordView } from '../records/record.js';
import { isLoopback } from '../routing/subnet.js';
import { punish, ping } from './client.js';
import type { RpcInbound } from './network.js';
import { parseAddressList } from './peers.js';

const MAX_PENDING_PINGBACKS = 64;

export interface Server {
  handle(inbound: RpcInbound): Promise<DhtResponse | undefined>;
  /** Called after a record was stored (for replication bookkeeping). */
  onStored?: (key: Uint8Array) => void;
}

function response(
  requestId: number,
  status: DhtStatus,
  closerPeers: PeerInfo[] = [],
  error = '',
  record?: SignedEnvelope,
): DhtResponse {
  return record === undefined
    ? { requestId, status, closerPeers, error }
    : { requestId, status, closerPeers, error, record };
}

/** The k closest contacts to `id` as wire entries, without `exclude`. */
export function closerPeerInfos(ctx: Ctx, id: Uint8Array, exclude: PeerId | undefined): PeerInfo[] {
  const k = ctx.cfg.k;
  const out: PeerInfo[] = [];
  for (const c of ctx.table.closest(id, k + 1)) {
    if (exclude !== undefined && c.peer.equals(exclude)) continue;
    if (out.length >= k) break;
    out.push(c.info);
  }
  return out;
}

export function createServer(ctx: Ctx): Server {
  const pendingPingBacks = new Set<string>();

  /** Pings back a requester that advertised addresses, so it can enter the routing table. */
  const considerRequester = (
    peer: PeerId,
    observed: Address | undefined,
    texts: string[],
  ): void => {
    if (texts.length === 0 || !ctx.running || ctx.banned(peer)) return;
    const existing = ctx.table.get(peer);
    if (existing !== undefined) return;
    if (pendingPingBacks.size >= MAX_PENDING_PINGBACKS) return;
    const key = bytesKey(kadIdOfPeer(peer));
    if (pendingPingBacks.has(key)) return;
    // Claimed addresses must be on the host the request came from (no pointing at a third party).
    const parsed = parseAddressList(texts.length <= 32 ? texts : texts.slice(0, 32));
    let addresses = parsed;
    if (observed !== undefined && !isLoopback(observed)) {
      const onHost = (a: Address): boolean => a.relay !== undefined || a.host === observed.host;
      if (!parsed.every(onHost)) addresses = parsed.filter(onHost);
    }
    if (addresses.length === 0) return;
    if (!ctx.table.hasRoomFor(peer, observed ?? addresses[0])) return;
    pendingPingBacks.add(key);
    const addressText = addresses.length === texts.length ? texts : undefined;
    void ping(ctx, { peer, addresses, addressText }).finally(() => pendingPingBacks.delete(key));
  };

  /** Tells listeners about a record a peer stored here (`isNew`: a new key or a higher seq). */
  const announceStored = (record: DhtRecordView, from: PeerId, isNew: boolean): void => {
    const events = ctx.events;
    if (events.has('record:stored')) events.emit('record:stored', { record, from });
    if (!isNew || !events.has('record:self')) return;
    if (bytesEqual(record.publisher, ctx.self.publicKey)) return;
    const named = recordKeyPeer(record.key, ctx.peerIds);
    if (named !== undefined && named.equals(ctx.self)) events.emit('record:self', { record, from });
  };

  const server: Server = {
    async handle({ peer, address, request }) {
      if (!ctx.running || ctx.banned(peer)) return undefined;
      ctx.stats.requestsReceived++;
      const id = request.requestId;
      considerRequester(peer, address, request.senderAddresses);
      switch (request.body) {
        case 'ping':
          return response(id, DhtStatus.DHT_STATUS_OK);
        case 'findNode': {
          const key = request.findNode.key;
          if (key.length !== ID_BYTES) {
            ctx.stats.invalidMessages++;
            punish(ctx, peer, 'protocol-violation', 0.5);
            return response(id, DhtStatus.DHT_STATUS_BAD_REQUEST);
          }
          return response(id, DhtStatus.DHT_STATUS_OK, closerPeerInfos(ctx, key, peer));
        }
        case 'findValue': {
          const key = request.findValue.key;
          const held = ctx.records.held(key);
          const closer = closerPeerInfos(ctx, held?.kadId ?? ctx.locate(key), peer);
          const record = held === undefined ? undefined : ctx.records.get(key);
          if (record === undefined) return response(id, DhtStatus.DHT_STATUS_NOT_FOUND, closer);
          return response(id, DhtStatus.DHT_STATUS_OK, closer, '', record);
        }
        case 'store': {
          try {
            const view = openRecord(request.store.record, ctx.rules, ctx.clock.now());
            const previous = ctx.records.held(view.key)?.seq;
            const result = await ctx.records.put(view, bytesKey(peer.publicKey));
            if (result === 'stored') {
              ctx.stats.recordsStored++;
              announceStored(view, peer, previous === undefined || previous < view.seq);
            }
            server.onStored?.(view.key);
            return response(id, DhtStatus.DHT_STATUS_OK);
          } catch (err) {
            ctx.stats.recordsRefused++;
            if (err instanceof QuotaExceededError) {
              ctx.stats.penalties++;
              ctx.reporter.penalize(peer, 'rate-limit', 0.5);
              return response(id, DhtStatus.DHT_STATUS_REFUSED, [], 'quota exceeded');
            }
            if (err instanceof InvalidRecordError) {
              // An older record is an honest holder's stale copy, and a refused replacement an
              // honest race between two writers: not attacks.
              if (err.reason !== 'stale-seq' && err.reason !== 'replace-refused')
                punish(ctx, peer, 'bad-record');
              return response(id, DhtStatus.DHT_STATUS_INVALID_RECORD, [], err.reason);
            }
            ctx.log.warn({ err }, 'dht: store failed');
            return response(id, DhtStatus.DHT_STATUS_ERROR, [], 'store failed');
          }
        }
        default:
          ctx.stats.invalidMessages++;
          punish(ctx, peer, 'protocol-violation', 0.5);
          return response(id, DhtStatus.DHT_STATUS_BAD_REQUEST);
      }
    },
  };
  return server;
}
