// ICE server configuration: STUN and TURN URLs from config, TURN credentials static or
// time-limited (TURN REST API: username "<expiry>:<user>", password base64(HMAC-SHA1(secret, username))).
import { createHmac } from 'node:crypto';
import type { IceServer } from 'node-datachannel';
import type { StunServer } from '../stun/client.js';

/** One configured ICE server (the shape of WebRTC's `RTCIceServer`, plus REST credentials). */
export interface IceServerInit {
  /** `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or `turns:host[:port]`. */
  urls: string | readonly string[];
  /** Static TURN username. */
  username?: string;
  /** Static TURN password. */
  credential?: string;
  /**
   * TURN REST API shared secret (coturn `--use-auth-secret`): fresh credentials are derived for
   * every session, valid for `restTtlSec`.
   */
  restSecret?: string;
  /** Lifetime of REST credentials. @default 86400 */
  restTtlSec?: number;
  /** The user part of REST usernames. @default 'detr' */
  restUser?: string;
}

/** A parsed ICE URL. */
export interface IceUrl {
  readonly scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

/** The parsed configuration. */
export interface IceConfig {
  /** STUN endpoints (STUN servers, and TURN servers, which answer STUN too) for NAT discovery. */
  readonly stunServers: readonly StunServer[];
  /** True when at least one TURN server is configured. */
  readonly hasTurn: boolean;
  /** node-datachannel servers for the direct stage: STUN only. */
  direct(): IceServer[];
  /** node-datachannel servers for the relay stage: TURN only, credentials fresh at `nowMs`. */
  relay(nowMs: number): IceServer[];
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses an ICE URL strictly (RFC 7064 / 7065 forms).
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * parseIceUrl('turn:203.0.113.10:3478?transport=udp') // { scheme: 'turn', host: '203.0.113.10', port: 3478, transport: 'udp' }
 * ```
 */
export function parseIceUrl(url: string): IceUrl {
  const m =
    /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[^:?[\]]+)(?::([0-9]{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(
      url,
    );
  if (m === null) throw new TypeError(`bad ICE URL ${JSON.stringify(url.slice(0, 200))}`);
  const scheme = m[1] as IceUrl['scheme'];
  const rawHost = m[2] as string;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (!rawHost.startsWith('[') && !HOSTNAME.test(host))
    throw new TypeError(`bad ICE host in ${url}`);
  const secure = scheme === 'stuns' || scheme === 'turns';
  const port = m[3] === undefined ? (secure ? 5349 : 3478) : Number(m[3]);
  if (port < 1 || port > 65535) throw new TypeError(`bad ICE port in ${url}`);
  if ((scheme === 'stun' || scheme === 'stuns') && m[4] !== undefined) {
    throw new TypeError(`transport is only for TURN URLs: ${url}`);
  }
  const transport = m[4] === 'tcp' || scheme === 'turns' ? 'tcp' : 'udp';
  return { scheme, host, port, transport };
}

/**
 * TURN REST API credentials valid until `nowMs + ttlSec`.
 *
 * @example
 * ```ts
 * const { username, password } = turnRestCredentials(secret, 'detr', 3600, Date.now())
 * ```
 */
export function turnRestCredentials(
  secret: string,
  user: string,
  ttlSec: number,
  nowMs: number,
): { username: string; password: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSec}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * Parses and checks ICE server configuration.
 *
 * @throws {TypeError} for a malformed URL, TURN without credentials, or both static and REST
 *   credentials on one server
 * @example
 * ```ts
 * const ice = parseIceServers([{ urls: 'stun:203.0.113.10' }, { urls: 'turn:203.0.113.10', restSecret }])
 * ```
 */
export function parseIceServers(servers: readonly IceServerInit[]): IceConfig {
  const given: unknown = servers;
  if (!Array.isArray(given)) throw new TypeError('iceServers must be an array');
  const stunServers: StunServer[] = [];
  const stunOnly: IceServer[] = [];
  const turns: Array<{ url: IceUrl; init: IceServerInit }> = [];
  for (const init of servers) {
    const urls = typeof init.urls === 'string' ? [init.urls] : [...init.urls];
    if (urls.length === 0) throw new TypeError('an ICE server needs at least one URL');
    for (const text of urls) {
      const url = parseIceUrl(text);
      if (url.scheme === 'stun' || url.scheme === 'stuns') {
        if (url.scheme === 'stun') stunServers.push({ host: url.host, port: url.port });
        stunOnly.push({ hostname: url.host, port: url.port });
        continue;
      }
      const rest = init.restSecret !== undefined;
      const fixed = init.username !== undefined || init.credential !== undefined;
      if (rest && fixed) throw new TypeError(`${text}: static and REST credentials together`);
      if (!rest && (init.username === undefined || init.credential === undefined)) {
        throw new TypeError(`${text}: TURN needs username and credential, or restSecret`);
      }
      if (url.scheme === 'turn' && url.transport === 'udp')
        stunServers.push({ host: url.host, port: url.port });
      turns.push({ url, init });
    }
  }
  const unique = stunServers.filter(
    (s, i) => stunServers.findIndex((t) => t.host === s.host && t.port === s.port) === i,
  );
  return {
    stunServers: unique,
    hasTurn: turns.length > 0,
    direct: () =>
      stunOnly.length > 0
        ? stunOnly.map((s) => ({ ...s }))
        : unique.slice(0, 1).map((s) => ({ hostname: s.host, port: s.port })),
    relay: (nowMs) =>
      turns.map(({ url, init }) => {
        const cred =
          init.restSecret !== undefined
            ? turnRestCredentials(
                init.restSecret,
                init.restUser ?? 'detr',
                init.restTtlSec ?? 86400,
                nowMs,
              )
            : { username: init.username as string, password: init.credential as string };
        return {
          hostname: url.host,
          port: url.port,
          username: cred.username,
          password: cred.password,
          relayType:
            url.scheme === 'turns' ? 'TurnTls' : url.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp',
        };
      }),
  };
}
