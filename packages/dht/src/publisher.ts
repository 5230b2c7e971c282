// Publishing: sign a record, store it at the k closest (and here when this node is one of them),
// remember it for republication; and deleting, which publishes a tombstone (an empty value with
// a higher seq) that supersedes the record everywhere it is held.
import { AbortError } from '@detr/interface';
import type { Ctx } from './context.js';
import { DhtNoPeersError, InvalidRecordError } from './errors.js';
import type { Replicator } from './maintenance/replication.js';
import { findRecord, replicateRecord } from './operations.js';
import { openRecord, signRecord } from './records/record.js';
import type { PutResult } from './types.js';

/** Options of one publication. */
export interface PublishOptions {
  seq?: number | undefined;
  ttlSec?: number | undefined;
  signal: AbortSignal;
  /** Republish it before it expires. */
  track: boolean;
}

export interface Publisher {
  publish(key: Uint8Array, value: Uint8Array, o: PublishOptions): Promise<PutResult>;
  remove(key: Uint8Array, o: Omit<PublishOptions, 'track'>): Promise<PutResult>;
}

const EMPTY = new Uint8Array(0);

export function createPublisher(ctx: Ctx, replicator: Replicator): Publisher {
  const { cfg, clock } = ctx;

  const publish = async (
    key: Uint8Array,
    value: Uint8Array,
    o: PublishOptions,
  ): Promise<PutResult> => {
    const signal = o.signal;
    const ttlSec = o.ttlSec ?? cfg.defaultTtlSec;
    if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > cfg.maxTtlSec)
      throw new RangeError(`ttlSec must be an integer in [1, ${cfg.maxTtlSec}]`);
    const now = clock.now();
    const prev = replicator.publishedSeq(key) ?? ctx.records.held(key)?.seq ?? -1;
    const seq = o.seq ?? Math.max(now, prev + 1);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new RangeError('seq must be a safe integer ≥ 0');
    const envelope = await signRecord(ctx.signer, {
      key,
      value,
      seq,
      ttlSec,
      expiresAtMs: now + ttlSec * 1000,
      networkId: cfg.networkId,
    });
    const view = openRecord(envelope, ctx.rules, now);
    const out = await replicateRecord(ctx, view, { signal });
    if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });
    if (out.stored === 0) {
      if (out.stale > 0) throw new InvalidRecordError('stale-seq', 'Peers hold a higher seq');
      if (out.denied > 0)
        throw new InvalidRecordError('replace-refused', 'Peers hold a record it may not replace');
      throw new DhtNoPeersError('No node stored the record');
    }
    if (o.track) replicator.track(view);
    return { key, seq, expiresAtMs: view.expiresAtMs, replicas: out.stored, lookup: out.stats };
  };

  const remove = async (key: Uint8Array, o: Omit<PublishOptions, 'track'>): Promise<PutResult> => {
    replicator.untrack(key);
    let seq = o.seq;
    let ttlSec = o.ttlSec;
    if (seq === undefined || ttlSec === undefined) {
      // The tombstone must outrank and outlive the newest version anyone holds.
      const found = await findRecord(ctx, key, { quorum: cfg.getQuorum, signal: o.signal });
      const now = clock.now();
      const known = Math.max(
        replicator.publishedSeq(key) ?? -1,
        ctx.records.held(key)?.seq ?? -1,
        found.best?.seq ?? -1,
      );
      seq ??= Math.max(now, known + 1);
      const left = found.best === undefined ? 0 : Math.ceil((found.best.expiresAtMs - now) / 1000);
      ttlSec ??= Math.min(cfg.maxTtlSec, Math.max(cfg.defaultTtlSec, left));
    }
    return publish(key, EMPTY, { seq, ttlSec, signal: o.signal, track: false });
  };

  return { publish, remove };
}
