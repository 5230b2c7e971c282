// Five (and more) separate `detr start` daemons on 127.0.0.1, driven by the CLI end to end.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NODE_ARGS,
  binJs,
  controlInfo,
  detr,
  detrJson,
  root,
  startDaemon,
  stopDaemon,
  until,
  type DaemonProc,
} from './support.js';

const base = mkdtempSync(join(tmpdir(), 'detr-e2e-'));
const daemons = new Map<string, DaemonProc>();
const ids = new Map<string, string>();
const tokens = new Map<string, string>();
const dir = (name: string): string => join(base, name);

/** `detr init` with fast timers for tests. */
async function init(name: string): Promise<string> {
  const r = await detrJson<{ peerId: string }>(['init', '--dir', dir(name), '--log-level', 'warn']);
  const cfg = join(dir(name), 'config.toml');
  writeFileSync(
    cfg,
    readFileSync(cfg, 'utf8')
      .replace(/^retransmit_interval_ms = .*$/m, 'retransmit_interval_ms = 300')
      .replace(/^gossip_heartbeat_ms = .*$/m, 'gossip_heartbeat_ms = 200'),
  );
  ids.set(name, r.peerId);
  return r.peerId;
}

async function join_(name: string): Promise<void> {
  const issued = await detrJson<{ join: string; tokenId: string }>([
    'token',
    'issue',
    ids.get(name)!,
    '--dir',
    dir('a'),
  ]);
  tokens.set(name, issued.tokenId);
  await detrJson(['init', '--dir', dir(name), '--join', issued.join]);
}

async function start(name: string, bootstrap = true): Promise<DaemonProc> {
  const extra =
    bootstrap && name !== 'a' ? ['--bootstrap', controlInfo(dir('a')).addresses[0]!] : [];
  const d = await startDaemon(dir(name), extra);
  daemons.set(name, d);
  return d;
}

function http(
  port: number,
  path: string,
  token?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const members = ['a', 'b', 'c', 'd', 'e'];

beforeAll(async () => {
  // The bin launcher itself, once (it works from any directory).
  const viaBin = await new Promise<string>((resolve) => {
    const child = spawn(
      process.execPath,
      [binJs, 'init', '--dir', dir('a'), '--json', '--log-level', 'warn'],
      { cwd: tmpdir() },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', () => resolve(out));
  });
  ids.set('a', JSON.parse(viaBin).peerId);
  await init('a');
  await detrJson(['network', 'create', '--dir', dir('a'), '--name', 'e2e']);
  for (const name of members.slice(1)) {
    await init(name);
    await join_(name);
  }
  await start('a');
  await Promise.all(members.slice(1).map((n) => start(n)));
}, 150_000);

afterAll(async () => {
  await Promise.all([...daemons.values()].map((d) => stopDaemon(d)));
  rmSync(base, { recursive: true, force: true });
}, 60_000);

describe('detr CLI with separate daemon processes', () => {
  it('five daemons join one network with tokens', async () => {
    await until(
      async () => (await detrJson<unknown[]>(['peers', '--dir', dir('a')])).length >= 4,
      30_000,
      'a has 4 peers',
    );
    const status = await detrJson<{ peerId: string; network: string; connections: number }>([
      'status',
      '--dir',
      dir('b'),
    ]);
    const net = readFileSync(join(dir('a'), 'network.txt'), 'utf8');
    expect(status.peerId).toBe(ids.get('b'));
    expect(net.length).toBeGreaterThan(50);
    expect(status.connections).toBeGreaterThanOrEqual(1);
    const human = await detr(['status', '--dir', dir('b')]);
    expect(human.stdout).toContain(`peer id: ${ids.get('b')}`);
  }, 60_000);

  it('send (fire-and-forget and acknowledged), inbox, request, dht put/get, find, connect', async () => {
    const c = ids.get('c')!;
    expect(
      (await detrJson<{ status: string }>(['send', c, 'chat', 'ff hello', '--dir', dir('b')]))
        .status,
    ).toBe('sent');
    const acked = await detrJson<{ status: string; seq: number }>([
      'send',
      c,
      'chat',
      'acked hello',
      '--ack',
      '--dir',
      dir('b'),
    ]);
    expect(acked.status).toBe('acked');
    await until(
      async () =>
        (await detrJson<unknown[]>(['inbox', '--dir', dir('c'), '--channel', 'chat'])).length >= 2,
      10_000,
      'inbox',
    );
    const inbox = await detrJson<Array<{ data: string; from: string }>>([
      'inbox',
      '--dir',
      dir('c'),
    ]);
    expect(inbox.map((m) => m.data)).toEqual(expect.arrayContaining(['ff hello', 'acked hello']));
    expect(inbox.every((m) => m.from === ids.get('b'))).toBe(true);
    const reply = await detrJson<{ data: string }>([
      'request',
      ids.get('d')!,
      'echo',
      'ping',
      '--dir',
      dir('e'),
    ]);
    expect(reply.data).toBe('ping');
    const unknown = await detr([
      'request',
      ids.get('d')!,
      'no-such-service',
      'x',
      '--dir',
      dir('e'),
      '--json',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown service');
    await detrJson(['dht', 'put', 'greeting', 'hello dht', '--dir', dir('b')]);
    expect(
      (await detrJson<{ data: string }>(['dht', 'get', 'greeting', '--dir', dir('e')])).data,
    ).toBe('hello dht');
    await detrJson(['announce', '--dir', dir('d')]);
    const found = await detrJson<{ addresses: string[] }>([
      'find',
      ids.get('d')!,
      '--dir',
      dir('b'),
    ]);
    expect(found.addresses[0]).toContain(ids.get('d'));
    const connected = await detrJson<{ peer: string }>([
      'connect',
      found.addresses[0]!,
      '--dir',
      dir('b'),
    ]);
    expect(connected.peer).toBe(ids.get('d'));
  }, 90_000);

  it('publish reaches a `detr subscribe` stream', async () => {
    const sub = spawn(
      process.execPath,
      [...NODE_ARGS, 'subscribe', 'news', '--count', '1', '--json', '--dir', dir('d')],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number | null>((r) => sub.on('close', r));
    // Publish until the subscription (and the mesh) is in place.
    await until(
      async () => {
        await detrJson(['publish', 'news', 'extra extra', '--dir', dir('b')]);
        return out.includes('extra extra');
      },
      30_000,
      'subscriber output',
    );
    expect(await done).toBe(0);
    const line = JSON.parse(out.trim().split('\n').pop()!);
    expect(line.data).toBe('extra extra');
    expect(line.from).toBe(ids.get('b'));
  }, 60_000);

  it('the control API refuses requests without its token, serves metrics with it', async () => {
    const { port } = controlInfo(dir('a'));
    expect((await http(port, '/status')).status).toBe(401);
    expect((await http(port, '/status', 'wrong-token')).status).toBe(401);
    expect((await http(port, '/metrics')).status).toBe(401);
    const token = readFileSync(join(dir('a'), 'control.token'), 'utf8').trim();
    const metrics = await http(port, '/metrics', token);
    expect(metrics.status).toBe(200);
    for (const m of [
      'detr_connections',
      'detr_streams',
      'detr_bytes_sent',
      'detr_queue_depth',
      'detr_dht_lookups_total',
      'detr_handshake_failures_total',
      'detr_connections_by_transport',
      'detr_dht_routing_table_peers',
      'detr_relay_total',
      'detr_offline_total',
      'detr_relay_total',
    ]) {
      expect(metrics.body).toContain(m);
    }
    // The CLI with a wrong token file is refused too.
    const copy = join(base, 'a-copy');
    rmSync(copy, { recursive: true, force: true });
    await detrJson(['init', '--dir', copy]);
    writeFileSync(join(copy, 'control.json'), JSON.stringify(controlInfo(dir('a'))));
    const refused = await detr(['status', '--dir', copy]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('unauthorized');
  }, 60_000);

  it('a node without a valid token is refused; a revoked one is cut and refused', async () => {
    // Another network's token.
    await init('x');
    await detrJson(['network', 'create', '--dir', dir('x'), '--name', 'other']);
    await start('x', false);
    const before = await detrJson<{ handshakeFailures: number }>(['status', '--dir', dir('a')]);
    const bad = await detr(['connect', controlInfo(dir('a')).addresses[0]!, '--dir', dir('x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unreachable');
    // A member whose token gets revoked.
    await init('r');
    await join_('r');
    await start('r');
    await until(
      async () => (await detrJson<unknown[]>(['peers', '--dir', dir('r')])).length >= 1,
      20_000,
      'r connected',
    );
    const revoked = await detrJson<{ seq: number; revoked: string[] }>([
      'token',
      'revoke',
      tokens.get('r')!,
      '--dir',
      dir('a'),
    ]);
    expect(revoked.revoked).toContain(tokens.get('r'));
    await until(
      async () => (await detrJson<unknown[]>(['peers', '--dir', dir('r')])).length === 0,
      20_000,
      'r cut off',
    );
    const again = await detr(['connect', controlInfo(dir('a')).addresses[0]!, '--dir', dir('r')]);
    expect(again.code).toBe(1);
    // a's token verifier refused r's revoked token: a counts a handshake failure.
    const after = await detrJson<{ handshakeFailures: number }>(['status', '--dir', dir('a')]);
    expect(after.handshakeFailures).toBeGreaterThan(before.handshakeFailures);
  }, 90_000);

  it('acknowledged delivery survives a killed and restarted receiver', async () => {
    const e = daemons.get('e')!;
    e.child.kill('SIGKILL');
    await e.exited;
    const sent = await detr([
      'send',
      ids.get('e')!,
      'durable',
      'survives a crash',
      '--ack',
      '--no-offline',
      '--timeout',
      '1000',
      '--dir',
      dir('b'),
      '--json',
    ]);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('TIMEOUT');
    const pending = await detrJson<{ outbox: Record<string, number> }>([
      'status',
      '--dir',
      dir('b'),
    ]);
    expect(pending.outbox[ids.get('e')!]).toBe(1);
    await start('e');
    await until(
      async () =>
        (
          await detrJson<Array<{ data: string }>>([
            'inbox',
            '--dir',
            dir('e'),
            '--channel',
            'durable',
          ])
        ).some((m) => m.data === 'survives a crash'),
      30_000,
      'retransmitted message',
    );
    await until(
      async () =>
        Object.keys((await detrJson<{ outbox: object }>(['status', '--dir', dir('b')])).outbox)
          .length === 0,
      10_000,
      'acknowledged',
    );
  }, 90_000);

  it('offline delivery works when the receiver starts after the send', async () => {
    await init('late');
    await join_('late');
    const r = await detrJson<{ status: string }>([
      'send',
      ids.get('late')!,
      'mail',
      'left for you',
      '--ack',
      '--dir',
      dir('c'),
    ]);
    expect(r.status).toBe('stored-offline');
    await start('late');
    await until(
      async () =>
        (
          await detrJson<Array<{ data: string; via: string }>>(['inbox', '--dir', dir('late')])
        ).some((m) => m.data === 'left for you' && m.via === 'offline'),
      30_000,
      'offline message',
    );
  }, 90_000);

  it('detr stop shuts a daemon down gracefully', async () => {
    const d = daemons.get('d')!;
    await detrJson(['stop', '--dir', dir('d')]);
    expect(await d.exited).toBe(0);
    expect(existsSync(join(dir('d'), 'control.json'))).toBe(false);
  }, 30_000);
});
