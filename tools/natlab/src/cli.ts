// `npm run natlab -- <command>`:
//   up                 build the lab, print it, hold until Ctrl-C, tear down
//   clean              remove namespaces left by crashed runs
//   validate [opts]    the 4×4 matrix with raw node-datachannel peers (lab check, no detr code)
//   matrix [opts]      the 4×4 matrix through detr's WebRTC transport; writes docs/nat-matrix.md
//                      (a partial run with --cells writes only to --out)
//   strategy [opts]    the 4×4 matrix with nat's strategy on raw data channels (no handshake/mux)
//   relay              relay scenarios: reservation, circuit, relay → direct upgrade, relay limit
// Options: --attempts N, --cells open:symmetric,..., --out <file>, --json, --timeout-ms N
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { attempt, startAgent, type Agent } from './driver.js';
import { cleanupStaleLabs, createLab, turnRestCredential, type Lab } from './lab.js';
import { allCells, formatMatrix, matrixDocument, summarize, type Cell } from './matrix.js';
import { NAT_KINDS, type NatKind } from './plan.js';
import { relayScenarios } from './relay-scenarios.js';
import { labSupport } from './sys.js';
import type { AgentIceServer, AttemptResult } from './agents/proto.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    attempts: { type: 'string', default: '5' },
    cells: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '15000' },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const command = positionals[0] ?? 'help';
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

function parseCells(text: string | undefined): Array<[NatKind, NatKind]> {
  if (text === undefined) return allCells();
  return text.split(',').map((pair) => {
    const [a, b] = pair.split(':') as [NatKind, NatKind];
    if (!NAT_KINDS.includes(a) || !NAT_KINDS.includes(b)) throw new RangeError(`bad cell ${pair}`);
    return [a, b];
  });
}

function iceServers(lab: Lab): AgentIceServer[] {
  const cred = turnRestCredential(lab.turn.secret, 'natlab', 3600);
  return [
    { hostname: lab.turn.listen[0], port: lab.turn.port },
    {
      hostname: lab.turn.listen[0],
      port: lab.turn.port,
      username: cred.username,
      password: cred.password,
      relayType: 'TurnUdp',
    },
  ];
}

/**
 * Starts one agent per site the cells use; the dialer of kind k is its first site, the listener
 * its second.
 */
async function startSites(
  lab: Lab,
  script: string,
  init: (lab: Lab, site: string) => Record<string, unknown>,
  cells: Array<[NatKind, NatKind]> = allCells(),
): Promise<Map<string, Agent>> {
  const needed = new Set(cells.flatMap(([d, l]) => [siteOf(lab, d, 0), siteOf(lab, l, 1)]));
  const agents = new Map<string, Agent>();
  await Promise.all(
    lab.hosts
      .filter((h) => needed.has(h.name))
      .map(async (h) => agents.set(h.name, await startAgent(lab, h, script, init(lab, h.name)))),
  );
  return agents;
}

function siteOf(lab: Lab, kind: NatKind, index: number): string {
  const sites = lab.hosts.filter((h) => h.name.startsWith('site') && h.kind === kind);
  const h = sites[index];
  if (h === undefined) throw new RangeError(`no site ${index} of kind ${kind}`);
  return h.name;
}

async function runCells(
  lab: Lab,
  agents: Map<string, Agent>,
  cells: Array<[NatKind, NatKind]>,
  attempts: number,
  options: { policy: 'all' | 'relay'; timeoutMs: number },
  label: string,
): Promise<Cell[]> {
  const out: Cell[] = [];
  for (const [d, l] of cells) {
    const dialer = agents.get(siteOf(lab, d, 0)) as Agent;
    const listener = agents.get(siteOf(lab, l, 1)) as Agent;
    const results: AttemptResult[] = [];
    for (let i = 0; i < attempts; i++) results.push(await attempt(dialer, listener, options));
    const cell = { dialer: d, listener: l, results };
    const s = summarize(cell);
    process.stderr.write(
      `${label} ${d} → ${l}: ${s.connected}/${s.attempts} direct ${s.direct} relayed ${s.relayed} ` +
        `p50 ${s.ttfbP50Ms?.toFixed(0) ?? '—'} ms ${s.errors.join('; ')}\n`,
    );
    out.push(cell);
  }
  return out;
}

async function withLab<T>(fn: (lab: Lab) => Promise<T>): Promise<T> {
  const support = labSupport();
  if (!support.ok) throw new Error(support.why);
  const lab = await createLab({ keepLogs: values['keep-logs'] });
  const stop = (): void => {
    void lab.close().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await fn(lab);
  } finally {
    await lab.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * The relay scenarios: a public relay R; A (port-restricted) reserves there and B (port-restricted)
 * dials A through R, then the relayed connection is upgraded to a direct one; the same between two
 * symmetric NATs (no direct path: the connection stays relayed); and a client sending more than
 * the relay's byte limit through a circuit is cut off.
 */
async function main(): Promise<number> {
  const attempts = Number(values.attempts);
  const timeoutMs = Number(values['timeout-ms']);
  switch (command) {
    case 'clean': {
      const removed = cleanupStaleLabs();
      console.log(removed.length === 0 ? 'nothing to clean' : `removed ${removed.join(' ')}`);
      return 0;
    }
    case 'up':
      return withLab(async (lab) => {
        console.log(`lab ${lab.plan.runId}: logs in ${lab.dir}`);
        console.log(
          `coturn ${lab.turn.ns}: ${lab.turn.listen.join(', ')}:${lab.turn.port} relay ${lab.turn.relayIp} (REST secret ${lab.turn.secret})`,
        );
        for (const h of lab.hosts) {
          console.log(
            `${h.name.padEnd(8)} ${h.kind.padEnd(16)} ${h.ns} ${h.address} (public ${h.publicAddress})`,
          );
        }
        console.log(
          'run commands with: ip netns exec <ns> <command>; Ctrl-C tears everything down',
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        return 0;
      });
    case 'validate':
      return withLab(async (lab) => {
        const ice = iceServers(lab);
        const agents = await startSites(lab, 'raw-agent.ts', (l, site) => ({
          bindAddress: l.host(site).address,
          iceServers: ice,
        }));
        try {
          const cells = parseCells(values.cells);
          const all = await runCells(
            lab,
            agents,
            cells,
            attempts,
            { policy: 'all', timeoutMs },
            'all',
          );
          const relay = await runCells(
            lab,
            agents,
            cells,
            attempts,
            { policy: 'relay', timeoutMs },
            'relay',
          );
          const md =
            formatMatrix(all, 'raw node-datachannel, iceTransportPolicy "all" (STUN + TURN)') +
            '\n' +
            formatMatrix(relay, 'raw node-datachannel, iceTransportPolicy "relay" (TURN only)');
          if (values.json) console.log(JSON.stringify({ all, relay }));
          else console.log(md);
          if (values.out !== undefined)
            writeFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), values.out), md);
          const failed = [...all, ...relay].filter(
            (c) => summarize(c).connected < c.results.length,
          );
          return failed.length === 0 ? 0 : 1;
        } finally {
          await Promise.all([...agents.values()].map((a) => a.stop()));
        }
      });
    case 'matrix':
      return withLab(async (lab) => {
        const adminSeed = randomBytes(32).toString('hex');
        const networkId = randomBytes(32).toString('hex');
        const createdAtMs = Date.now();
        const cells = parseCells(values.cells);
        const agents = await startSites(
          lab,
          'detr-agent.ts',
          (l, site) => ({
            bindAddress: l.host(site).address,
            stunServers: l.turn.listen.map((host) => ({ host, port: l.turn.port })),
            iceServers: [
              { urls: `stun:${l.turn.listen[0]}:${l.turn.port}` },
              {
                urls: `turn:${l.turn.listen[0]}:${l.turn.port}`,
                restSecret: l.turn.secret,
                restTtlSec: 3600,
              },
            ],
            adminSeed,
            networkId,
            createdAtMs,
          }),
          cells,
        );
        try {
          const out = await runCells(
            lab,
            agents,
            cells,
            attempts,
            { policy: 'all', timeoutMs },
            'matrix',
          );
          const md = formatMatrix(
            out,
            "detr's WebRTC transport (@detr/nat): NAT discovery, staged ICE, handshake, first echoed byte",
          );
          if (values.json) console.log(JSON.stringify(out));
          else console.log(md);
          // The full matrix regenerates docs/nat-matrix.md unless told otherwise; a partial one
          // writes only where --out says.
          const target =
            values.out ??
            (values.cells === undefined ? join(repoRoot, 'docs/nat-matrix.md') : undefined);
          if (target !== undefined) {
            const file = resolve(process.env.INIT_CWD ?? process.cwd(), target);
            writeFileSync(file, matrixDocument(md, out, attempts));
            process.stderr.write(`wrote ${file}\n`);
          }
          return out.every((c) => summarize(c).connected === c.results.length) ? 0 : 1;
        } finally {
          await Promise.all([...agents.values()].map((a) => a.stop()));
        }
      });
    case 'relay':
      return withLab(async (lab) => relayScenarios(lab));
    case 'strategy':
      return withLab(async (lab) => {
        const agents = await startSites(lab, 'strategy-agent.ts', (l, site) => ({
          bindAddress: l.host(site).address,
          stunServers: l.turn.listen.map((host) => ({ host, port: l.turn.port })),
          iceServers: [
            { urls: `stun:${l.turn.listen[0]}:${l.turn.port}` },
            {
              urls: `turn:${l.turn.listen[0]}:${l.turn.port}`,
              restSecret: l.turn.secret,
              restTtlSec: 3600,
            },
          ],
        }));
        try {
          const cells = parseCells(values.cells);
          const out = await runCells(
            lab,
            agents,
            cells,
            attempts,
            { policy: 'all', timeoutMs },
            'strategy',
          );
          const md = formatMatrix(
            out,
            "@detr/nat's NAT discovery + staged strategy (direct, then TURN relay), raw data channel",
          );
          if (values.json) console.log(JSON.stringify(out));
          else console.log(md);
          if (values.out !== undefined)
            writeFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), values.out), md);
          return out.every((c) => summarize(c).connected === c.results.length) ? 0 : 1;
        } finally {
          await Promise.all([...agents.values()].map((a) => a.stop()));
        }
      });
    default:
      console.log(
        'usage: natlab up | clean | validate | matrix [--attempts N] [--cells a:b,...] [--out file] [--json]',
      );
      return command === 'help' ? 0 : 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
