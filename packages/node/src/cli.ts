// The `detr` command line (commander). Every command takes --dir (or $DETR_HOME) and --json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { peerIdFromString } from '@detr/aecomms';
import { createIdentity } from '@detr/aecomms';
import { ConfigError, ControlApiError } from './errors.js';
import { loadConfigFile, renderConfig, type ConfigInput } from './config/config.js';
import { controlClient } from './daemon/client.js';
import { startDaemon } from './daemon/daemon.js';
import {
  dataDir,
  initDir,
  loadAdmin,
  loadIdentity,
  path,
  readText,
  saveKey,
} from './daemon/datadir.js';
import {
  createNetwork,
  decodeJoin,
  encodeJoin,
  issueToken,
  parseNetwork,
  parseRevocations,
  revokeTokens,
} from './networks.js';
import { runDemo } from './demo.js';

interface Common {
  dir?: string;
  json?: boolean;
}

const program = new Command('detr')
  .description('detr: a peer-to-peer transport stack — node daemon and control CLI')
  .showHelpAfterError()
  .exitOverride();

function out(opts: Common, value: unknown, human: () => string): void {
  process.stdout.write((opts.json === true ? JSON.stringify(value) : human()) + '\n');
}

function common(cmd: Command): Command {
  return cmd
    .option('--dir <path>', 'data directory (default $DETR_HOME or ~/.detr)')
    .option('--json', 'print JSON');
}

const dirOf = (o: Common): string => dataDir(o.dir);
const client = (o: Common): ReturnType<typeof controlClient> => controlClient(dirOf(o));

function writeJoin(dir: string, bundle: string): string {
  const { network, token } = decodeJoin(bundle);
  writeFileSync(path(dir, 'network'), network.text + '\n');
  writeFileSync(path(dir, 'token'), token + '\n', { mode: 0o600 });
  return network.id;
}

common(program.command('init'))
  .description('create the data directory: identity key, config.toml, control token')
  .option('--listen <address...>', 'listen addresses', ['/ip4/127.0.0.1/tcp/0'])
  .option('--control-port <port>', 'control API port (0 = any)', '0')
  .option('--log-level <level>', 'pino log level', 'info')
  .option('--join <token>', 'join a network with a token bundle from `detr token issue`')
  .option('--memory-store', 'keep state in memory instead of lmdb')
  .action(
    (
      o: Common & {
        listen: string[];
        controlPort: string;
        logLevel: string;
        join?: string;
        memoryStore?: boolean;
      },
    ) => {
      const dir = dirOf(o);
      const { identity, created } = initDir(dir);
      if (!existsSync(path(dir, 'config'))) {
        const overrides: ConfigInput = {
          transport: { listen: o.listen },
          node: { control_port: Number(o.controlPort), log_level: o.logLevel },
          ...(o.memoryStore === true ? { stored: { backend: 'memory' } } : {}),
        };
        writeFileSync(path(dir, 'config'), renderConfig(overrides));
      }
      loadConfigFile(path(dir, 'config'));
      const networkId = o.join !== undefined ? writeJoin(dir, o.join) : undefined;
      out(
        o,
        { dir, peerId: identity.peerId.toString(), created, networkId },
        () =>
          `${created ? 'created' : 'kept'} ${dir}\npeer id: ${identity.peerId.toString()}${networkId ? `\njoined network ${networkId}` : ''}`,
      );
    },
  );

const network = program.command('network').description('networks: create');
common(network.command('create'))
  .description('create a network with a new admin key held in this data directory')
  .option('--name <name>', 'network name', 'detr')
  .action((o: Common & { name: string }) => {
    const dir = dirOf(o);
    const identity = loadIdentity(dir);
    const admin = loadAdmin(dir) ?? createIdentity();
    saveKey(dir, 'admin', admin);
    const net = createNetwork(admin, o.name);
    const { token } = issueToken(admin, net, identity.peerId);
    writeFileSync(path(dir, 'network'), net.text + '\n');
    writeFileSync(path(dir, 'token'), token + '\n', { mode: 0o600 });
    const cfg = path(dir, 'config');
    if (existsSync(cfg))
      writeFileSync(
        cfg,
        readFileSync(cfg, 'utf8').replace(/^network = ".*"$/m, `network = "${net.id}"`),
      );
    out(
      o,
      { networkId: net.id, name: net.name, admin: admin.peerId.toString() },
      () => `network ${net.name} ${net.id}\nadmin key in ${path(dir, 'admin')}`,
    );
  });

const tokenCmd = program.command('token').description('network tokens: issue, revoke');
common(tokenCmd.command('issue'))
  .description('issue a token for a peer (needs the admin key); prints a join bundle')
  .argument('<peer>', 'PeerId of the new member')
  .option('--ttl-days <days>', 'validity', '365')
  .action((peer: string, o: Common & { ttlDays: string }) => {
    const dir = dirOf(o);
    const admin = loadAdmin(dir);
    const text = readText(dir, 'network');
    if (admin === undefined || text === undefined)
      throw new Error('this data directory holds no network admin key');
    const net = parseNetwork(text);
    const { token, tokenId } = issueToken(admin, net, peerIdFromString(peer), {
      ttlMs: Number(o.ttlDays) * 86_400_000,
    });
    const join = encodeJoin(net, token);
    out(o, { join, tokenId, peer }, () => `token id: ${tokenId}\njoin: ${join}`);
  });

common(tokenCmd.command('revoke'))
  .description('revoke tokens (through the running daemon, so the network learns it)')
  .argument('<tokenIds...>', 'token ids (hex)')
  .action(async (ids: string[], o: Common) => {
    const dir = dirOf(o);
    let result: { seq: number; revoked: string[] };
    if (existsSync(path(dir, 'control'))) {
      result = await client(o).call('POST', '/token/revoke', { tokenIds: ids });
    } else {
      const admin = loadAdmin(dir);
      const text = readText(dir, 'network');
      if (admin === undefined || text === undefined)
        throw new Error('this data directory holds no network admin key');
      const net = parseNetwork(text);
      const prev = readText(dir, 'revocations');
      const r = revokeTokens(
        admin,
        net,
        prev === undefined ? undefined : parseRevocations(prev, net),
        ids,
      );
      writeFileSync(path(dir, 'revocations'), r.text + '\n');
      result = { seq: r.seq, revoked: [...r.revoked] };
    }
    out(o, result, () => `revocation list #${result.seq}: ${result.revoked.length} token(s)`);
  });

common(program.command('start'))
  .description('run the daemon in the foreground (logs with pino; Ctrl-C stops it)')
  .option('--bootstrap <address...>', 'peers to connect to at start')
  .option('--join <token>', 'join a network with a token bundle first')
  .action(async (o: Common & { bootstrap?: string[]; join?: string }) => {
    const dir = dirOf(o);
    if (o.join !== undefined) writeJoin(dir, o.join);
    await startDaemon(dir, { bootstrap: o.bootstrap ?? [] });
    // Runs until SIGINT/SIGTERM or `detr stop`.
  });

common(program.command('stop'))
  .description('stop the daemon')
  .action(async (o: Common) => {
    await client(o).call('POST', '/stop');
    out(o, { ok: true }, () => 'stopping');
  });

common(program.command('status'))
  .description('node status')
  .action(async (o: Common) => {
    const s = await client(o).call<Record<string, unknown>>('GET', '/status');
    out(o, s, () =>
      [
        `peer id: ${String(s.peerId)}`,
        `network: ${String(s.network)}`,
        `addresses: ${(s.addresses as string[]).join(' ')}`,
        `connections: ${String(s.connections)}`,
      ].join('\n'),
    );
  });

common(program.command('peers'))
  .description('connected peers')
  .action(async (o: Common) => {
    const peers = await client(o).call<
      Array<{ peer: string; address: string; direction: string; score: number }>
    >('GET', '/peers');
    out(o, peers, () =>
      peers.length === 0
        ? 'no peers'
        : peers.map((p) => `${p.peer} ${p.direction} ${p.address} score ${p.score}`).join('\n'),
    );
  });

common(program.command('connect'))
  .description('connect to a peer by address (/ip4/…/tcp/…/p2p/<id>) or PeerId')
  .argument('<target>')
  .action(async (target: string, o: Common) => {
    const r = await client(o).call<{ peer: string }>('POST', '/connect', { address: target });
    out(o, r, () => `connected to ${r.peer}`);
  });

common(program.command('send'))
  .description('send a message to a peer on a channel')
  .argument('<peer>')
  .argument('<channel>')
  .argument('<data>')
  .option('--ack', 'acknowledged delivery (at least once, retransmitted after reconnects)')
  .option('--timeout <ms>', 'how long to wait for the acknowledgement')
  .option('--no-offline', 'never store in the DHT for an offline peer')
  .action(
    async (
      peer: string,
      channel: string,
      data: string,
      o: Common & { ack?: boolean; timeout?: string; offline: boolean },
    ) => {
      const r = await client(o).call<{ status: string; seq: number }>('POST', '/send', {
        peer,
        channel,
        data,
        qos: o.ack === true ? 'ack' : 'fire-and-forget',
        ...(o.timeout !== undefined ? { timeoutMs: Number(o.timeout) } : {}),
        offline: o.offline,
      });
      out(o, r, () => `${r.status}${r.seq > 0 ? ` (seq ${r.seq})` : ''}`);
    },
  );

common(program.command('inbox'))
  .description('messages this daemon received (--follow streams them)')
  .option('--channel <channel>')
  .option('--follow', 'keep streaming until Ctrl-C')
  .option('--count <n>', 'with --follow: exit after n messages')
  .action(async (o: Common & { channel?: string; follow?: boolean; count?: string }) => {
    const q = new URLSearchParams(o.channel !== undefined ? { channel: o.channel } : {});
    type M = { from: string; channel: string; data: string; via: string };
    const show = (m: M): void =>
      out(
        o,
        m,
        () => `${m.from} [${m.channel}] ${m.data}${m.via === 'offline' ? ' (offline)' : ''}`,
      );
    if (o.follow !== true) {
      const list = await client(o).call<M[]>('GET', `/inbox?${q.toString()}`);
      if (o.json === true) out(o, list, () => '');
      else for (const m of list) show(m);
      return;
    }
    q.set('follow', '1');
    await follow(o, `/inbox?${q.toString()}`, (v) => show(v as M), o.count);
  });

async function follow(
  o: Common,
  route: string,
  onValue: (v: unknown) => void,
  count?: string,
): Promise<void> {
  const ac = new AbortController();
  let n = 0;
  const limit = count === undefined ? Infinity : Number(count);
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  await client(o).stream(
    route,
    (v) => {
      onValue(v);
      if (++n >= limit) ac.abort();
    },
    ac.signal,
  );
}

common(program.command('request'))
  .description('call a service on a peer (every daemon serves `echo`)')
  .argument('<peer>')
  .argument('<service>')
  .argument('[data]', 'request data', '')
  .option('--timeout <ms>')
  .action(async (peer: string, service: string, data: string, o: Common & { timeout?: string }) => {
    const started = performance.now();
    const r = await client(o).call<{ data: string }>('POST', '/request', {
      peer,
      service,
      data,
      ...(o.timeout ? { timeoutMs: Number(o.timeout) } : {}),
    });
    const ms = performance.now() - started;
    out(o, { ...r, ms }, () => `${r.data}  (${ms.toFixed(1)} ms)`);
  });

common(program.command('publish'))
  .description('publish on a pub/sub topic')
  .argument('<topic>')
  .argument('<data>')
  .action(async (topic: string, data: string, o: Common) => {
    const r = await client(o).call<{ id: string; recipients: number }>('POST', '/publish', {
      topic,
      data,
    });
    out(o, r, () => `published ${r.id} to ${r.recipients} peer(s)`);
  });

common(program.command('subscribe'))
  .description('stream messages of a topic until Ctrl-C')
  .argument('<topic>')
  .option('--count <n>', 'exit after n messages')
  .action(async (topic: string, o: Common & { count?: string }) => {
    type M = { from: string; data: string };
    await follow(
      o,
      `/subscribe?topic=${encodeURIComponent(topic)}`,
      (v) => out(o, v, () => `${(v as M).from} ${(v as M).data}`),
      o.count,
    );
  });

const dht = program.command('dht').description('DHT records: put, get');
common(dht.command('put'))
  .argument('<key>')
  .argument('<value>')
  .option('--ttl <sec>', 'record TTL in seconds')
  .action(async (key: string, value: string, o: Common & { ttl?: string }) => {
    const r = await client(o).call('POST', '/dht/put', {
      key,
      value,
      ...(o.ttl ? { ttlSec: Number(o.ttl) } : {}),
    });
    out(o, r, () => 'stored');
  });
common(dht.command('get'))
  .argument('<key>')
  .action(async (key: string, o: Common) => {
    const r = await client(o).call<{ data: string }>(
      'GET',
      `/dht/get?key=${encodeURIComponent(key)}`,
    );
    out(o, r, () => r.data);
  });

common(program.command('find'))
  .description("resolve a peer's addresses (presence)")
  .argument('<peer>')
  .action(async (peer: string, o: Common) => {
    const r = await client(o).call<{ addresses: string[] }>(
      'GET',
      `/find?peer=${encodeURIComponent(peer)}`,
    );
    out(o, r, () => r.addresses.join('\n'));
  });

common(program.command('announce'))
  .description('publish our presence now')
  .action(async (o: Common) => {
    out(o, await client(o).call('POST', '/announce'), () => 'announced');
  });

program
  .command('demo')
  .description('a local network of detr nodes on loopback exercising every feature, then a summary')
  .addOption(new Option('--nodes <n>', 'number of nodes').default('20'))
  .addOption(
    new Option('--duration <sec>', 'seconds of steady traffic after the checks').default('3'),
  )
  .option('--keep', 'stay up after the summary until Ctrl-C')
  .option('--json', 'print the summary as JSON')
  .action(async (o: { nodes: string; duration: string; keep?: boolean; json?: boolean }) => {
    const ok = await runDemo({
      nodes: Number(o.nodes),
      durationSec: Number(o.duration),
      keep: o.keep === true,
      json: o.json === true,
      log: (l) => process.stdout.write(l + '\n'),
    });
    process.exitCode = ok ? 0 : 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as Error & { code?: string; exitCode?: number };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) process.exit(e.exitCode ?? 2);
  const json = process.argv.includes('--json');
  const status = err instanceof ControlApiError ? err.status : undefined;
  if (json) process.stderr.write(JSON.stringify({ error: e.message, code: e.code, status }) + '\n');
  else process.stderr.write(`detr: ${err instanceof ConfigError ? err.message : e.message}\n`);
  process.exit(err instanceof ControlApiError && err.status === 401 ? 3 : 1);
}
