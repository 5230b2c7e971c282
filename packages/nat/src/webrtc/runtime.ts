// node-datachannel's native runtime is process-wide: its threads keep the process alive until
// `cleanup()` runs, and `cleanup()` closes every PeerConnection of the process. So detr counts its
// users and calls `cleanup()` when the last one lets go (the runtime re-initialises itself on the
// next PeerConnection). Code outside detr that uses node-datachannel in the same process takes
// part through retainWebRTC/releaseWebRTC, so detr never cleans up under it.
import { cleanup } from 'node-datachannel';

let users = 0;

// Closed PeerConnections and DataChannels are kept referenced until the runtime is cleaned up:
// a wrapper garbage-collected while the native runtime still runs other connections crashed the
// process (SIGSEGV/SIGBUS) in the benchmark's mixed raw/detr runs. Bounded, oldest first out.
const retired: unknown[] = [];
const MAX_RETIRED = 4096;

/** Keeps closed node-datachannel objects alive until the runtime's `cleanup()`. */
export function retire(...objects: unknown[]): void {
  retired.push(...objects);
  if (retired.length > MAX_RETIRED) retired.splice(0, retired.length - MAX_RETIRED);
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
    cleanup();
    retired.length = 0;
  }
}

/** Number of current users (tests). */
export function webrtcUsers(): number {
  return users;
}
