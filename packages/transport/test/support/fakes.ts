// TEST ONLY helpers: fake identities, recording reporters, registries.
import { randomBytes } from 'node:crypto';
import type {
  PeerId,
  PeerReporter,
  PenaltyReason,
  StreamHandler,
  StreamRegistry,
} from '@detr/interface';

/** A PeerId-shaped fake (aecomms makes real ones). */
export function fakePeerId(key: Uint8Array = randomBytes(32)): PeerId {
  const hex = Buffer.from(key).toString('hex');
  return {
    type: 'Ed25519',
    publicKey: key,
    bytes: Uint8Array.of(0xed, ...key),
    toString: () => `fake${hex}`,
    equals: (o: PeerId) => Buffer.from(o.publicKey).equals(Buffer.from(key)),
  };
}

export interface RecordingReporter extends PeerReporter {
  penalties: Array<{ peer: string; reason: PenaltyReason }>;
}

export function recordingReporter(): RecordingReporter {
  const penalties: RecordingReporter['penalties'] = [];
  return {
    penalties,
    penalize: (peer, reason) => penalties.push({ peer: peer.toString(), reason }),
    reward: () => {},
  };
}

export function registry(handlers: Record<string, StreamHandler> = {}): StreamRegistry & {
  set(protocol: string, h: StreamHandler): void;
} {
  const map = new Map(Object.entries(handlers));
  return { handler: (p) => map.get(p), set: (p, h) => map.set(p, h) };
}

/** An echo handler: writes back everything it reads, then ends. */
export const echo: StreamHandler = (stream) => {
  stream.pipe(stream);
};

/**
 * Reads a stream to its end without destroying it (a `for await` loop would destroy a duplex at
 * the end, writable side included).
 */
export function readAll(
  stream: NodeJS.ReadableStream & { errored?: Error | null },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(stream.errored ?? new Error('closed before the end')));
  });
}
