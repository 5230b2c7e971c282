// One peer's registry entry and the pure rules over it: address bookkeeping and ranking, and
// the eviction rank of the whole entry.
import { parseAddress, type Address, type PeerId } from '@detr/interface';
import type { AddressInfo, AddressSource, PeerInfo } from './types.js';

export interface MutableAddress {
  address: Address;
  source: AddressSource;
  addedAtMs: number;
  lastSuccessMs: number | undefined;
  lastFailureMs: number | undefined;
  failures: number;
}

export interface Entry {
  peer: PeerId;
  /** `peer.toString()`: the key everywhere. */
  id: string;
  addresses: Map<string, MutableAddress>;
  protocols: string[];
  latencyMs: number | undefined;
  firstSeenMs: number;
  lastSeenMs: number | undefined;
  score: number;
  scoreAtMs: number;
  banCount: number;
  lastBanMs: number | undefined;
  bannedUntilMs: number | undefined;
  banReason: string | undefined;
  connections: number;
  protectedBy: Set<string>;
}

export const MAX_PROTOCOLS = 64;
export const MAX_PROTOCOL_CHARS = 256;
/** Weight of the EWMA of latency samples. */
export const LATENCY_ALPHA = 0.25;
/** One score point counts as this much recency when ranking entries for eviction. */
export const SCORE_POINT_MS = 60_000;

export function newEntry(peer: PeerId, nowMs: number): Entry {
  return {
    peer,
    id: peer.toString(),
    addresses: new Map(),
    protocols: [],
    latencyMs: undefined,
    firstSeenMs: nowMs,
    lastSeenMs: undefined,
    score: 0,
    scoreAtMs: nowMs,
    banCount: 0,
    lastBanMs: undefined,
    bannedUntilMs: undefined,
    banReason: undefined,
    connections: 0,
    protectedBy: new Set(),
  };
}

/**
 * The address without a trailing `/p2p/<id>` naming `id`; `undefined` if it names another peer
 * (an address of X announced as Y's is ignored, not stored).
 */
export function ownAddress(address: Address, id: string): Address | undefined {
  if (address.peer === undefined) return address;
  if (address.peer !== id) return undefined;
  const text = address.toString();
  return parseAddress(text.slice(0, text.length - `/p2p/${id}`.length));
}

/** Best address first: most recent success, then fewest failures, then newest. */
export function compareAddresses(a: MutableAddress, b: MutableAddress): number {
  const sa = a.lastSuccessMs ?? -1;
  const sb = b.lastSuccessMs ?? -1;
  if (sa !== sb) return sb - sa;
  if (a.failures !== b.failures) return a.failures - b.failures;
  return b.addedAtMs - a.addedAtMs;
}

/** Drops the worst addresses beyond `max`. */
export function trimAddresses(e: Entry, max: number): void {
  if (e.addresses.size <= max) return;
  const sorted = [...e.addresses].sort((x, y) => compareAddresses(x[1], y[1]));
  for (const [key] of sorted.slice(max)) e.addresses.delete(key);
}

/** Higher is more worth keeping: recent usefulness, plus score. */
export function keepRank(e: Entry, score: number): number {
  let last = e.lastSeenMs ?? e.firstSeenMs;
  for (const a of e.addresses.values())
    if ((a.lastSuccessMs ?? 0) > last) last = a.lastSuccessMs ?? 0;
  return last + score * SCORE_POINT_MS;
}

export function sanitizeProtocols(protocols: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PROTOCOL_CHARS) continue;
    out.add(p);
    if (out.size >= MAX_PROTOCOLS) break;
  }
  return [...out];
}

export function snapshot(e: Entry, score: number, nowMs: number): PeerInfo {
  const addresses: AddressInfo[] = [...e.addresses.values()]
    .sort(compareAddresses)
    .map((a) => ({ ...a }));
  const banned = e.bannedUntilMs !== undefined && e.bannedUntilMs > nowMs;
  return {
    peer: e.peer,
    addresses,
    protocols: [...e.protocols],
    latencyMs: e.latencyMs,
    firstSeenMs: e.firstSeenMs,
    lastSeenMs: e.lastSeenMs,
    score,
    bannedUntilMs: banned ? e.bannedUntilMs : undefined,
    banCount: e.banCount,
    connections: e.connections,
    protectedBy: [...e.protectedBy],
  };
}
