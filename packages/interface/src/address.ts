import { isIPv4, isIPv6 } from 'node:net';

/** The transports an address can name. */
export type AddressTransport = 'tcp' | 'quic' | 'memory' | 'webrtc';

/**
 * A parsed transport address. Text forms:
 * - `/ip4/127.0.0.1/tcp/4001`, `/ip6/::1/tcp/4001`
 * - `/ip4/127.0.0.1/udp/4001/quic`
 * - `/memory/<name>` (in-process, for tests)
 * - `/ip4/127.0.0.1/udp/4001/webrtc` (a WebRTC endpoint reached through signaling)
 * each optionally followed by `/p2p/<peerId>`; a relayed address is
 * `<relay address>/p2p/<relay peerId>/p2p-circuit/p2p/<target peerId>`.
 */
export interface Address {
  readonly transport: AddressTransport;
  /** IP literal for network transports, the name for `memory`. */
  readonly host: string;
  /** 4 or 6 for IP addresses, 0 for `memory`. */
  readonly family: 0 | 4 | 6;
  /** Port for network transports, 0 for `memory`. */
  readonly port: number;
  /** The text form of the peer this address belongs to, when it names one. */
  readonly peer?: string;
  /** For a relayed address: the relay's own address (which names the relay's peer). */
  readonly relay?: Address;
  /** The canonical text form; `parseAddress(a.toString())` gives an equal address. */
  toString(): string;
}

/** Thrown by {@link parseAddress} for text that is not a valid address. */
export class InvalidAddressError extends TypeError {
  readonly code = 'INVALID_ADDRESS';
  constructor(text: string, why: string) {
    super(`Invalid address ${JSON.stringify(text.slice(0, 200))}: ${why}`);
    this.name = 'InvalidAddressError';
  }
}

const PEER_TEXT = /^[a-z0-9]{8,128}$/;
const MEMORY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

function make(fields: Omit<Address, 'toString'>): Address {
  const text = format(fields);
  return Object.freeze({ ...fields, toString: () => text });
}

function format(a: Omit<Address, 'toString'>): string {
  if (a.relay !== undefined) {
    return `${a.relay.toString()}/p2p-circuit${a.peer !== undefined ? `/p2p/${a.peer}` : ''}`;
  }
  const base =
    a.transport === 'memory'
      ? `/memory/${a.host}`
      : `/ip${a.family}/${a.host}/${a.transport === 'tcp' ? 'tcp' : 'udp'}/${a.port}` +
        (a.transport === 'tcp' ? '' : `/${a.transport}`);
  return a.peer !== undefined ? `${base}/p2p/${a.peer}` : base;
}

/**
 * Parses an address strictly: unknown protocols, malformed IPs, ports outside 0–65535, leading
 * zeros, empty or trailing segments are all rejected.
 *
 * @throws {InvalidAddressError} for anything that is not a valid address
 * @example
 * ```ts
 * const a = parseAddress('/ip4/127.0.0.1/tcp/4001')
 * a.port // 4001
 * ```
 */
export function parseAddress(text: string): Address {
  if (typeof text !== 'string' || text.length > 1024) {
    throw new InvalidAddressError(String(text), 'not a string of at most 1024 characters');
  }
  const circuit = text.indexOf('/p2p-circuit');
  if (circuit !== -1) {
    const relay = parseAddress(text.slice(0, circuit));
    if (relay.peer === undefined)
      throw new InvalidAddressError(text, 'relay must name its /p2p/ peer');
    if (relay.relay !== undefined)
      throw new InvalidAddressError(text, 'nested relays are not supported');
    const rest = text.slice(circuit + '/p2p-circuit'.length);
    let peer: string | undefined;
    if (rest !== '') {
      const m = /^\/p2p\/([^/]+)$/.exec(rest);
      if (m === null || !PEER_TEXT.test(m[1] as string))
        throw new InvalidAddressError(text, 'bad target after /p2p-circuit');
      peer = m[1];
    }
    return make({
      transport: relay.transport,
      host: relay.host,
      family: relay.family,
      port: relay.port,
      relay,
      ...(peer !== undefined ? { peer } : {}),
    });
  }
  const parts = text.split('/');
  if (parts[0] !== '' || parts.length < 3) throw new InvalidAddressError(text, 'must start with /');
  const seg = parts.slice(1);
  let peer: string | undefined;
  if (seg.length >= 2 && seg[seg.length - 2] === 'p2p') {
    peer = seg[seg.length - 1] ?? '';
    if (!PEER_TEXT.test(peer)) throw new InvalidAddressError(text, 'bad /p2p/ peer id');
    seg.length -= 2;
  }
  const withPeer = (f: Omit<Address, 'toString' | 'peer'>): Address =>
    make(peer !== undefined ? { ...f, peer } : f);
  if (seg[0] === 'memory') {
    if (seg.length !== 2 || !MEMORY_NAME.test(seg[1] as string))
      throw new InvalidAddressError(text, 'bad /memory/ name');
    return withPeer({ transport: 'memory', host: seg[1] as string, family: 0, port: 0 });
  }
  const [ipProto, host, l4, portText, ...more] = seg;
  const family = ipProto === 'ip4' ? 4 : ipProto === 'ip6' ? 6 : undefined;
  if (family === undefined)
    throw new InvalidAddressError(text, `unknown protocol ${JSON.stringify(ipProto)}`);
  if (host === undefined || !(family === 4 ? isIPv4(host) : isIPv6(host))) {
    throw new InvalidAddressError(text, `bad IPv${family} address`);
  }
  if (portText === undefined || !PORT.test(portText) || Number(portText) > 65535) {
    throw new InvalidAddressError(text, 'bad port');
  }
  const port = Number(portText);
  let transport: AddressTransport;
  if (l4 === 'tcp' && more.length === 0) transport = 'tcp';
  else if (l4 === 'udp' && more.length === 1 && (more[0] === 'quic' || more[0] === 'webrtc'))
    transport = more[0];
  else
    throw new InvalidAddressError(
      text,
      'expected /tcp/<port>, /udp/<port>/quic or /udp/<port>/webrtc',
    );
  return withPeer({ transport, host, family, port });
}

/**
 * Returns `address` naming `peer` (replacing any peer it named).
 *
 * @example
 * ```ts
 * withPeer(parseAddress('/ip4/127.0.0.1/tcp/4001'), peerId.toString())
 * ```
 */
export function withPeer(address: Address, peer: string): Address {
  return parseAddress(
    address.peer === undefined
      ? `${address.toString()}/p2p/${peer}`
      : address.toString().replace(/\/p2p\/[^/]+$/, `/p2p/${peer}`),
  );
}
