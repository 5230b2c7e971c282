// The crash test's deterministic workload, shared by the writer (child process) and the checker.
// Batch i puts records(i) records into `outbox`, deletes the records of batch i - KEEP, and sets
// `networks/head` to i, all in one atomic batch. So after any crash the store must equal the
// state after batches 0..head exactly: the last KEEP batches complete, nothing older, no partial.
import { createHash } from 'node:crypto';

export const KEEP = 8;

function digest(...parts: number[]): Buffer {
  return createHash('sha256').update(parts.join(',')).digest();
}

/** Number of records batch `i` writes (1–16). */
export function records(i: number): number {
  return 1 + (digest(i).readUInt32BE(0) % 16);
}

export function recordKey(i: number, j: number): string {
  return `b${String(i).padStart(8, '0')}/${String(j).padStart(2, '0')}`;
}

/** The value of record j of batch i: 1–6000 deterministic bytes (some span several pages). */
export function recordValue(i: number, j: number): Uint8Array {
  const seed = digest(i, j);
  const len = 1 + (seed.readUInt32BE(0) % (seed[4]! < 32 ? 6000 : 600));
  const out = Buffer.alloc(len);
  for (let off = 0, n = 0; off < len; off += 32, n++) digest(i, j, n).copy(out, off);
  return new Uint8Array(out.subarray(0, len));
}

export function encodeHead(i: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i);
  return new Uint8Array(b);
}

export function decodeHead(b: Uint8Array | undefined): number {
  return b === undefined ? -1 : Buffer.from(b).readUInt32BE(0);
}
