// The few things detr reads from SDP and candidate strings (node-datachannel parses the rest).
import type { Address } from '@detr/interface';
import { parseAddress } from '@detr/interface';

const FINGERPRINT = /^a=fingerprint:([a-z0-9-]+ [0-9A-F:]+)\r?$/im;

/** The `a=fingerprint` value of an SDP (`"sha-256 AB:…"`), or `undefined`. */
export function sdpFingerprint(sdp: string): string | undefined {
  return FINGERPRINT.exec(sdp)?.[1];
}

/**
 * A description without its inline candidates (and `a=end-of-candidates`), and those candidates
 * with the description's first `a=mid` (libdatachannel refuses candidates inside a remote
 * description while its ICE transport is being created: they are added one by one later).
 */
export function splitCandidates(sdp: string): {
  sdp: string;
  candidates: Array<{ kind: 'candidate'; candidate: string; mid: string }>;
} {
  const mid = /^a=mid:(\S+)\r?$/m.exec(sdp)?.[1] ?? '0';
  const candidates: Array<{ kind: 'candidate'; candidate: string; mid: string }> = [];
  const stripped = sdp
    .split('\n')
    .filter((line) => {
      const m = /^a=(candidate:.*?)\r?$/.exec(line);
      if (m !== null) candidates.push({ kind: 'candidate', candidate: m[1] as string, mid });
      return m === null && !/^a=end-of-candidates\r?$/.test(line);
    })
    .join('\n');
  return { sdp: stripped, candidates };
}

/** The address a session's selected remote candidate gives (host, srflx, prflx or a TURN relay). */
export function candidateAddress(candidate: string): Address {
  const m = /^[a-z]+ ([0-9.]+|[0-9a-f:]+):([0-9]+)$/i.exec(candidate);
  const host = m?.[1];
  const port = m?.[2];
  if (host !== undefined && port !== undefined) {
    try {
      return parseAddress(`/ip${host.includes(':') ? 6 : 4}/${host}/udp/${port}/webrtc`);
    } catch {
      // fall through
    }
  }
  return parseAddress('/ip4/0.0.0.0/udp/0/webrtc');
}
