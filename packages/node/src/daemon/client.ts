// The CLI's side of the control API.
import { request as httpRequest } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { ControlApiError } from '../errors.js';
import { path, readText } from './datadir.js';
import type { ControlInfo } from './daemon.js';

export interface ControlClient {
  call<T = unknown>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T>;
  /** Streams NDJSON lines until the daemon closes or `signal` aborts. */
  stream(route: string, onLine: (value: unknown) => void, signal?: AbortSignal): Promise<void>;
}

/**
 * A client of the daemon of data directory `dir`.
 *
 * @throws {ControlApiError} (status 0) when no daemon is running there
 */
export function controlClient(dir: string): ControlClient {
  if (!existsSync(path(dir, 'control')))
    throw new ControlApiError(0, `no daemon running for ${dir} (run \`detr start\`)`);
  const info = JSON.parse(readFileSync(path(dir, 'control'), 'utf8')) as ControlInfo;
  const token = readText(dir, 'controlToken') ?? '';
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    call<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: info.port, method, path: route, headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let value: unknown;
              try {
                value = JSON.parse(text);
              } catch {
                value = text;
              }
              if ((res.statusCode ?? 500) >= 400) {
                const body =
                  typeof value === 'object' && value !== null
                    ? (value as { error?: unknown; code?: unknown })
                    : {};
                const msg =
                  typeof body.error === 'string'
                    ? `${typeof body.code === 'string' && body.code !== 'HTTP' ? `${body.code}: ` : ''}${body.error}`
                    : text;
                reject(new ControlApiError(res.statusCode ?? 500, msg));
              } else resolve(value as T);
            });
          },
        );
        req.on('error', (err) =>
          reject(new ControlApiError(0, `daemon not reachable: ${err.message}`)),
        );
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    },
    stream(route, onLine, signal) {
      return new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: info.port,
            method: 'GET',
            path: route,
            headers,
            ...(signal ? { signal } : {}),
          },
          (res) => {
            if ((res.statusCode ?? 500) >= 400) {
              reject(
                new ControlApiError(res.statusCode ?? 500, `stream refused (${res.statusCode})`),
              );
              res.resume();
              return;
            }
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              buf += c;
              let i: number;
              while ((i = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, i).trim();
                buf = buf.slice(i + 1);
                if (line !== '') onLine(JSON.parse(line));
              }
            });
            res.on('end', () => resolve());
            res.on('error', () => resolve());
          },
        );
        req.on('error', (err) =>
          signal?.aborted === true ? resolve() : reject(new ControlApiError(0, err.message)),
        );
        req.end();
      });
    },
  };
}
