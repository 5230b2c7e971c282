// node-datachannel's native runtime is process-wide: its threads keep the process alive until
// `cleanup()` runs, and `cleanup()` closes every PeerConnection of the process. So detr counts its
// users and calls `cleanup()` when the last one lets go. A WebRTC transport is a user from its
// creation to its close (and each session from its creation to its close), so a node calls
// `cleanup()` once, when it stops. Code outside detr that uses node-datachannel in the same
// process takes part through retainWebRTC/releaseWebRTC, so detr never cleans up under it.
import { cleanup } from 'node-datachannel';

let users = 0;

// Every PeerConnection and DataChannel detr creates is adopted here and kept referenced until the
// runtime is cleaned up: a wrapper garbage-collected while the native runtime still ran other
// connections crashed the process (SIGSEGV/SIGBUS) in the benchmark's mixed raw/detr runs.
// Bounded, oldest first out (those were closed long ago).
interface Closable {
  close(): void;
}
const objects: Array<{ kind: 'pc' | 'dc'; object: Closable }> = [];
const MAX_KEPT = 4096;
const closedObjects = new WeakSet<Closable>();

/** Counters of node-datachannel objects created and closed by detr, and of `cleanup()` calls. */
export interface WebRTCRuntimeCounts {
  peerConnectionsOpened: number;
  peerConnectionsClosed: number;
  dataChannelsOpened: number;
  dataChannelsClosed: number;
  cleanups: number;
}
const counts: WebRTCRuntimeCounts = {
  peerConnectionsOpened: 0,
  peerConnectionsClosed: 0,
  dataChannelsOpened: 0,
  dataChannelsClosed: 0,
  cleanups: 0,
};

/** Records a PeerConnection (`pc`) or DataChannel (`dc`) detr just created. */
export function adopt(kind: 'pc' | 'dc', object: Closable): void {
  if (kind === 'pc') counts.peerConnectionsOpened++;
  else counts.dataChannelsOpened++;
  objects.push({ kind, object });
  if (objects.length > MAX_KEPT) objects.splice(0, objects.length - MAX_KEPT);
}

/** Closes an adopted object once (later calls do nothing) and counts it. */
export function closeAdopted(kind: 'pc' | 'dc', object: Closable | undefined): void {
  if (object === undefined || closedObjects.has(object)) return;
  closedObjects.add(object);
  if (kind === 'pc') counts.peerConnectionsClosed++;
  else counts.dataChannelsClosed++;
  try {
    object.close();
  } catch {
    // already closed natively
  }
}

/** Counters since the process started (tests, diagnostics). */
export function webrtcRuntimeCounts(): Readonly<WebRTCRuntimeCounts> {
  return { ...counts };
}

/** The objects kept until the next cleanup (tests check their native state). */
export function keptWebRTCObjects(): ReadonlyArray<{ kind: 'pc' | 'dc'; object: unknown }> {
  return objects;
}

/**
 * Marks one more user of node-datachannel's runtime in this process.
 *
 * @example
 * ```ts
 * retainWebRTC()
 * try { ...own PeerConnections... } finally { releaseWebRTC() }
 * ```
 */
export function retainWebRTC(): void {
  users++;
}

/**
 * Lets go of the runtime; the last user's release runs node-datachannel's `cleanup()`. Call it
 * only after closing every PeerConnection and DataChannel you opened.
 *
 * @throws {RangeError} when called more often than {@link retainWebRTC}
 * @example
 * ```ts
 * pc.close(); releaseWebRTC()
 * ```
 */
export function releaseWebRTC(): void {
  if (users <= 0) throw new RangeError('releaseWebRTC without retainWebRTC');
  users--;
  if (users === 0) {
    counts.cleanups++;
    cleanup();
    objects.length = 0;
  }
}

/** Number of current users (tests). */
export function webrtcUsers(): number {
  return users;
}
