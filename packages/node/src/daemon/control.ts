// The daemon's control API: HTTP on 127.0.0.1 only, every request authenticated with the bearer
// token from the data directory (compared in constant time); JSON in and out; NDJSON streams for
// `subscribe` and `inbox?follow=1`; Prometheus text on /metrics.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DetrError, type Logger } from '@detr/interface';
import { peerIdFromString } from '@detr/aecomms';
import type { Registry } from 'prom-client';
import type { DetrNode } from '../node.js';
import type { ReceivedMessage } from '../messaging.js';

const MAX_BODY = 20 * 1024 * 1024;
const INBOX_MAX = 1000;
const STREAMING = Symbol('streaming');
/** HTTP status of typed node errors. */
const CODE_STATUS: Record<string, number> = {
  TIMEOUT: 504,
  PEER_UNREACHABLE: 502,
  UNKNOWN_SERVICE: 404,
  REQUEST_REFUSED: 403,
  INVALID_TOKEN: 403,
  MESSAGE_TOO_LARGE: 413,
};

/** Data on the wire: UTF-8 text by default, or base64 with `encoding: 'base64'`. */
function toBytes(data: unknown, encoding: unknown): Uint8Array {
  if (typeof data !== 'string') throw new TypeError('data must be a string');
  return encoding === 'base64'
    ? new Uint8Array(Buffer.from(data, 'base64'))
    : new TextEncoder().encode(data);
}
const fromBytes = (b: Uint8Array): { data: string; base64: string } => ({
  data: Buffer.from(b).toString('utf8'),
  base64: Buffer.from(b).toString('base64'),
});

export interface ControlServer {
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Starts the control API for `node` on 127.0.0.1:`port` (0 = any free port).
 *
 * @example
 * ```ts
 * const control = await startControlServer(node, { token, port: 0, metrics, logger })
 * ```
 */
export async function startControlServer(
  node: DetrNode,
  options: { token: string; port: number; metrics: Registry; logger: Logger; onStop?: () => void },
): Promise<ControlServer> {
  const expected = digest(options.token);
  const log = options.logger.child({ component: 'control' });
  const inbox: Array<ReceivedMessage & { n: number; at: number }> = [];
  const followers = new Set<(m: ReceivedMessage & { n: number }) => void>();
  let n = 0;
  node.onMessage('*', (m) => {
    const entry = { ...m, n: ++n, at: Date.now() };
    inbox.push(entry);
    if (inbox.length > INBOX_MAX) inbox.shift();
    for (const f of followers) f(entry);
  });
  const streams = new Set<ServerResponse>();

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(h.slice(7).trim()), expected);
  };

  const body = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new HttpError(413, 'body too large');
      chunks.push(c as Buffer);
    }
    if (size === 0) return {};
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
      return v as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'body must be a JSON object');
    }
  };

  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v.length === 0) throw new HttpError(400, `${name} is required`);
    return v;
  };
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  const peerOf = (v: unknown): ReturnType<typeof peerIdFromString> => {
    try {
      return peerIdFromString(str(v, 'peer'));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'peer is not a PeerId');
    }
  };

  const ndjson = (res: ServerResponse): ((v: unknown) => void) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    streams.add(res);
    res.once('close', () => streams.delete(res));
    res.write('\n');
    return (v) => res.write(JSON.stringify(v) + '\n');
  };

  const routes: Record<
    string,
    (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown>
  > = {
    'GET /status': () => Promise.resolve(node.status()),
    'GET /peers': () => Promise.resolve(node.peers()),
    'POST /connect': async (req) => {
      const b = await body(req);
      return { peer: (await node.connect(str(b.address, 'address'))).toString() };
    },
    'POST /send': async (req) => {
      const b = await body(req);
      const qos = b.qos === 'ack' ? 'ack' : 'fire-and-forget';
      const timeoutMs = num(b.timeoutMs);
      return node.send(peerOf(b.peer), str(b.channel, 'channel'), toBytes(b.data, b.encoding), {
        qos,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(b.offline === false ? { offline: false } : {}),
      });
    },
    'POST /request': async (req) => {
      const b = await body(req);
      const timeoutMs = num(b.timeoutMs);
      const reply = await node.request(
        peerOf(b.peer),
        str(b.service, 'service'),
        toBytes(b.data ?? '', b.encoding),
        timeoutMs !== undefined ? { timeoutMs } : {},
      );
      return fromBytes(reply);
    },
    'POST /publish': async (req) => {
      const b = await body(req);
      return node.publish(str(b.topic, 'topic'), toBytes(b.data, b.encoding));
    },
    'POST /dht/put': async (req) => {
      const b = await body(req);
      const ttlSec = num(b.ttlSec);
      await node.dht.put(
        new TextEncoder().encode(str(b.key, 'key')),
        toBytes(b.value, b.encoding),
        ttlSec !== undefined ? { ttlSec } : {},
      );
      return { ok: true };
    },
    'GET /dht/get': async (_req, _res, url) => {
      const v = await node.dht.get(
        new TextEncoder().encode(str(url.searchParams.get('key'), 'key')),
      );
      if (v === undefined) throw new HttpError(404, 'not found');
      return fromBytes(v);
    },
    'GET /find': async (_req, _res, url) => {
      const found = await node.findPeer(peerOf(url.searchParams.get('peer')));
      if (found === undefined) throw new HttpError(404, 'not found');
      return { addresses: found };
    },
    'POST /announce': async () => {
      await node.announce();
      return { ok: true };
    },
    'POST /token/issue': async (req) => {
      const b = await body(req);
      const ttlDays = num(b.ttlDays);
      return node.issueToken(
        peerOf(b.peer),
        ttlDays !== undefined ? { ttlMs: ttlDays * 86_400_000 } : {},
      );
    },
    'POST /token/revoke': async (req) => {
      const b = await body(req);
      const ids = Array.isArray(b.tokenIds)
        ? b.tokenIds.map((x) => String(x))
        : [str(b.tokenId, 'tokenId')];
      const r = await node.revokeTokens(ids);
      return { seq: r.seq, revoked: [...r.revoked], text: r.text };
    },
    'GET /inbox': (_req, res, url) => {
      const channel = url.searchParams.get('channel');
      const since = Number(url.searchParams.get('since') ?? 0);
      const view = (m: ReceivedMessage & { n: number }): unknown => ({
        n: m.n,
        from: m.from.toString(),
        channel: m.channel,
        via: m.via,
        ...fromBytes(m.data),
      });
      const match = (m: ReceivedMessage & { n: number }): boolean =>
        (channel === null || m.channel === channel) && m.n > since;
      if (url.searchParams.get('follow') !== '1')
        return Promise.resolve(inbox.filter(match).map(view));
      const write = ndjson(res);
      for (const m of inbox.filter(match)) write(view(m));
      const f = (m: ReceivedMessage & { n: number }): void => {
        if (match(m)) write(view(m));
      };
      followers.add(f);
      res.once('close', () => followers.delete(f));
      return Promise.resolve(STREAMING);
    },
    'GET /subscribe': (_req, res, url) => {
      const topic = str(url.searchParams.get('topic'), 'topic');
      const write = ndjson(res);
      const off = node.subscribe(topic, (m) =>
        write({ topic: m.topic, from: m.from.toString(), id: m.id, ...fromBytes(m.data) }),
      );
      res.once('close', off);
      return Promise.resolve(STREAMING);
    },
    'GET /metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': options.metrics.contentType });
      res.end(await options.metrics.metrics());
      return STREAMING;
    },
    'POST /stop': () => {
      setImmediate(() => options.onStop?.());
      return Promise.resolve({ ok: true });
    },
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (!authorized(req)) throw new HttpError(401, 'unauthorized');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const route = routes[`${req.method ?? 'GET'} ${url.pathname}`];
        if (route === undefined) throw new HttpError(404, 'no such endpoint');
        const out = await route(req, res, url);
        if (out === STREAMING) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      } catch (err) {
        const status =
          err instanceof HttpError
            ? err.status
            : err instanceof TypeError || err instanceof RangeError
              ? 400
              : err instanceof DetrError
                ? (CODE_STATUS[err.code] ?? 500)
                : 500;
        const code =
          err instanceof DetrError
            ? err.code
            : err instanceof HttpError
              ? 'HTTP'
              : (err as Error).name;
        if (status === 500) log.warn({ err: String(err) }, 'control request failed');
        if (!res.headersSent) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: (err as Error).message, code }));
        } else res.end();
      }
    })();
  });
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      for (const s of streams) s.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
