// Outbound requests: build, send, check the answer, and judge the peer. A peer that answers a
// valid response is confirmed in the routing table; one that times out, answers garbage or
// hands out a bad record is penalised and dropped from it.
import type { PeerId, PenaltyReason } from '@detr/interface';
import { DhtStatus, type DhtRequest, type DhtResponse, type SignedEnvelope } from '@detr/protocol';
import type { Ctx } from '../context.js';
import {
  DhtInvalidResponseError,
  DhtTimeoutError,
  DhtUnreachableError,
  InvalidRecordError,
} from '../errors.js';
import { bytesEqual } from '../keys.js';
import { openRecord, type DhtRecordView } from '../records/record.js';
import type { RpcReply, RpcTarget } from './network.js';
import { parsePeerInfos, type ParsedPeer } from './peers.js';

type Body =
  | { body: 'ping'; ping: Record<string, never> }
  | { body: 'findNode'; findNode: { key: Uint8Array } }
  | { body: 'findValue'; findValue: { key: Uint8Array } }
  | { body: 'store'; store: { record: SignedEnvelope } };

/** Penalises `peer` and removes it from the routing table. */
export function punish(ctx: Ctx, peer: PeerId, reason: PenaltyReason, weight = 1): void {
  ctx.stats.penalties++;
  ctx.reporter.penalize(peer, reason, weight);
  ctx.table.remove(peer, reason);
}

const SENDER_CACHE = new WeakMap<Ctx, { at: number; text: string[] }>();

function senderAddresses(ctx: Ctx): string[] {
  if (ctx.cfg.clientMode) return [];
  const now = ctx.clock.now();
  let c = SENDER_CACHE.get(ctx);
  if (c === undefined || now - c.at > 10_000) {
    c = { at: now, text: ctx.network.listenAddresses().slice(0, 32).map(String) };
    SENDER_CACHE.set(ctx, c);
  }
  return c.text;
}

/**
 * Sends one request and checks the answer with `check` (which throws a DHT error for a bad
 * answer). On success the answering peer is confirmed in the routing table.
 *
 * @throws {DhtTimeoutError | DhtUnreachableError | DhtInvalidResponseError | InvalidRecordError}
 */
export async function rpc<T>(
  ctx: Ctx,
  target: RpcTarget,
  body: Body,
  check: (response: DhtResponse, reply: RpcReply) => T,
): Promise<T> {
  if (target.peer !== undefined && ctx.banned(target.peer)) {
    ctx.table.remove(target.peer, 'banned');
    throw new DhtUnreachableError('The peer is banned');
  }
  ctx.requestId = (ctx.requestId + 1) >>> 0;
  const request = {
    requestId: ctx.requestId,
    senderAddresses: senderAddresses(ctx),
    ...body,
  } as DhtRequest;
  ctx.stats.requestsSent++;
  let reply: RpcReply;
  try {
    reply = await ctx.network.request(target, request, { timeoutMs: ctx.cfg.requestTimeoutMs });
  } catch (err) {
    ctx.stats.requestsFailed++;
    const peer = target.peer;
    if (err instanceof DhtTimeoutError) {
      ctx.stats.timeouts++;
      if (peer !== undefined) punish(ctx, peer, 'timeout');
    } else if (err instanceof DhtInvalidResponseError) {
      ctx.stats.invalidMessages++;
      if (peer !== undefined) punish(ctx, peer, 'invalid-message');
    } else if (peer !== undefined) {
      ctx.table.remove(peer, 'unreachable');
    }
    throw err instanceof Error ? err : new DhtUnreachableError(undefined, { cause: err });
  }
  const peer = reply.peer;
  if (target.peer !== undefined && !target.peer.equals(peer)) {
    ctx.stats.requestsFailed++;
    throw new DhtUnreachableError('Another peer answered');
  }
  let result: T;
  try {
    if (reply.response.requestId !== request.requestId)
      throw new DhtInvalidResponseError('Wrong request id');
    result = check(reply.response, reply);
  } catch (err) {
    ctx.stats.requestsFailed++;
    if (err instanceof InvalidRecordError) {
      ctx.stats.recordsRefused++;
      punish(ctx, peer, 'bad-record');
    } else {
      ctx.stats.invalidMessages++;
      punish(ctx, peer, 'invalid-message');
    }
    throw err;
  }
  if (ctx.running && !ctx.banned(peer))
    ctx.table.confirm(peer, target.addresses, reply.address, target.addressText);
  return result;
}

function expectStatus(r: DhtResponse, ...ok: DhtStatus[]): void {
  if (!ok.includes(r.status)) throw new DhtInvalidResponseError(`Unexpected status ${r.status}`);
}

function closer(ctx: Ctx, r: DhtResponse): ParsedPeer[] {
  const peers = parsePeerInfos(ctx.peerIds, r.closerPeers, ctx.cfg.k);
  if (peers === undefined) throw new DhtInvalidResponseError('Invalid peer entry');
  return peers;
}

/** PING. Resolves true when the peer answered; never rejects. */
export async function ping(ctx: Ctx, target: RpcTarget): Promise<boolean> {
  try {
    await rpc(ctx, target, { body: 'ping', ping: {} }, (r) =>
      expectStatus(r, DhtStatus.DHT_STATUS_OK),
    );
    return true;
  } catch {
    return false;
  }
}

/** PING that resolves with the peer that answered (for bootstrap addresses without a PeerId). */
export async function pingAddress(ctx: Ctx, target: RpcTarget): Promise<PeerId | undefined> {
  try {
    return await rpc(ctx, target, { body: 'ping', ping: {} }, (r, reply) => {
      expectStatus(r, DhtStatus.DHT_STATUS_OK);
      return reply.peer;
    });
  } catch {
    return undefined;
  }
}

/** FIND_NODE: the peers the target knows closest to `key` (a 32-byte Kademlia id). */
export function findNode(ctx: Ctx, target: RpcTarget, key: Uint8Array): Promise<ParsedPeer[]> {
  return rpc(ctx, target, { body: 'findNode', findNode: { key } }, (r) => {
    expectStatus(r, DhtStatus.DHT_STATUS_OK);
    return closer(ctx, r);
  });
}

/** What FIND_VALUE returned: closer peers, and the record if the peer holds one. */
export interface FindValueAnswer {
  readonly closer: ParsedPeer[];
  readonly record: DhtRecordView | undefined;
}

/**
 * FIND_VALUE for a record key. A record in the answer must pass every rule (signature, network,
 * namespace, expiry) and be for the key asked, or the peer is penalised.
 */
export function findValue(ctx: Ctx, target: RpcTarget, key: Uint8Array): Promise<FindValueAnswer> {
  return rpc(ctx, target, { body: 'findValue', findValue: { key } }, (r) => {
    expectStatus(r, DhtStatus.DHT_STATUS_OK, DhtStatus.DHT_STATUS_NOT_FOUND);
    const peers = closer(ctx, r);
    let record: DhtRecordView | undefined;
    if (r.record !== undefined) {
      record = openRecord(r.record, ctx.rules, ctx.clock.now());
      if (!bytesEqual(record.key, key)) throw new InvalidRecordError('key-mismatch');
    }
    return { closer: peers, record };
  });
}

/** STORE. Resolves to the peer's status (OK, INVALID_RECORD or REFUSED) and its reason. */
export function store(
  ctx: Ctx,
  target: RpcTarget,
  record: SignedEnvelope,
): Promise<{ status: DhtStatus; error: string }> {
  return rpc(ctx, target, { body: 'store', store: { record } }, (r) => {
    expectStatus(
      r,
      DhtStatus.DHT_STATUS_OK,
      DhtStatus.DHT_STATUS_INVALID_RECORD,
      DhtStatus.DHT_STATUS_REFUSED,
    );
    return { status: r.status, error: r.error };
  });
}
