// Small helpers shared by the transports' dial paths.
import { peerIdFromString } from '@detr/aecomms';
import type { Address, ConnectionGate, DialOptions, PeerId } from '@detr/interface';
import {
  AbortError,
  ClosedError,
  TimeoutError,
  combineSignals,
  throwIfAborted,
} from '@detr/interface';
import type { Clock } from '@detr/interface';
import { GateRefusedError, UnsupportedAddressError } from './errors.js';

/** The peer a dial must reach: the option, else the address's `/p2p/` part. */
export function expectedPeerOf(address: Address, expected: PeerId | undefined): PeerId | undefined {
  if (expected !== undefined) return expected;
  return address.peer === undefined ? undefined : peerIdFromString(address.peer);
}

/** True for a dialable IP address of `transport`: a concrete host and port, not a relay. */
export function canDialIp(address: Address, transport: 'tcp' | 'quic'): boolean {
  return (
    address.transport === transport &&
    address.relay === undefined &&
    address.port !== 0 &&
    address.host !== '0.0.0.0' &&
    address.host !== '::'
  );
}

/**
 * The checks every transport's `dial()` makes before any I/O, in order: the transport is open, the
 * address is its kind, the caller has not aborted, the gate allows it. Returns the peer the dial
 * must reach and the signal for the dial (the caller's and the transport's shutdown).
 *
 * @throws {ClosedError} after close; {@link UnsupportedAddressError}; AbortError; {@link GateRefusedError}
 */
export function beginDial(
  t: {
    /** Display name in the closed error, e.g. `TCP`. */
    label: string;
    kind: string;
    shutdown: AbortSignal;
    gate: ConnectionGate;
    canDial(address: Address): boolean;
  },
  address: Address,
  options: DialOptions,
): { expectedPeer: PeerId | undefined; signal: AbortSignal } {
  if (t.shutdown.aborted) throw new ClosedError(`The ${t.label} transport is closed`);
  if (!t.canDial(address)) throw new UnsupportedAddressError(address.toString(), t.kind);
  throwIfAborted(options.signal);
  const expectedPeer = expectedPeerOf(address, options.expectedPeer);
  if (!t.gate.allowDial(address, expectedPeer)) throw new GateRefusedError('dial');
  return { expectedPeer, signal: combineSignals(options.signal, t.shutdown) };
}

/**
 * Resolves with `promise`, or rejects with AbortError / TimeoutError first; `onLate` runs with the
 * value if it arrives after giving up (to close what was opened too late).
 */
export function bounded<T>(
  promise: Promise<T>,
  options: { signal?: AbortSignal | undefined; clock: Clock; timeoutMs: number; what: string },
  onLate: (value: T) => void,
): Promise<T> {
  const { signal } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (done()) reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = options.clock.setTimeout(() => {
      if (done())
        reject(new TimeoutError(`${options.what} timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    if (signal?.aborted === true) {
      onAbort();
    } else {
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    promise.then(
      (v) => {
        if (done()) resolve(v);
        else onLate(v);
      },
      (e: unknown) => {
        if (done()) reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** The text form of a host/port pair as an address, IPv4-mapped IPv6 unwrapped. */
export function ipAddressText(host: string, port: number, l4: 'tcp' | 'udp'): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  const h = mapped !== null ? (mapped[1] as string) : host;
  const family = h.includes(':') ? 6 : 4;
  return `/ip${family}/${h}/${l4}/${port}${l4 === 'udp' ? '/quic' : ''}`;
}
