// `detr start`: the daemon. Loads the data directory, starts the node and the control API,
// writes control.json, logs with pino, stops gracefully on SIGINT/SIGTERM.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from '@detr/interface';
import { createLmdbStore, createMemoryStore, type Store } from '@detr/stored';
import { loadConfigFile, opt, resolveConfig, type NodeConfig } from '../config/config.js';
import { createNode, type DetrNode } from '../node.js';
import { parseNetwork, parseRevocations } from '../networks.js';
import { startControlServer, type ControlServer } from './control.js';
import { createMetrics } from './metrics.js';
import { loadAdmin, loadIdentity, path, readText } from './datadir.js';

/** What the daemon writes to control.json for the CLI. */
export interface ControlInfo {
  port: number;
  pid: number;
  peerId: string;
  addresses: string[];
}

export interface Daemon {
  readonly node: DetrNode;
  readonly control: ControlServer;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** Extra bootstrap addresses (besides the config's). */
  bootstrap?: readonly string[];
  /** Handle SIGINT/SIGTERM (stop and exit). @default true */
  signals?: boolean;
  /** Where logs go. @default stdout */
  logDestination?: NodeJS.WritableStream;
}

/**
 * Starts a daemon for data directory `dir`.
 *
 * @throws {ConfigError} for a bad config.toml; an Error when the directory is not initialised
 * @example
 * ```ts
 * const daemon = await startDaemon(dataDir())
 * ```
 */
export async function startDaemon(dir: string, options: DaemonOptions = {}): Promise<Daemon> {
  if (!existsSync(path(dir, 'identity')))
    throw new Error(`${dir} is not initialised: run \`detr init\``);
  let config: NodeConfig = existsSync(path(dir, 'config'))
    ? loadConfigFile(path(dir, 'config'))
    : resolveConfig();
  if (options.bootstrap !== undefined && options.bootstrap.length > 0) {
    const merged = [...opt<readonly string[]>(config, 'dht', 'bootstrap'), ...options.bootstrap];
    config = resolveConfig({ ...config, dht: { ...config.dht, bootstrap: merged } });
  }
  const level = opt<string>(config, 'node', 'log_level');
  const logger = pino(
    { level, base: { pid: process.pid } },
    pino.destination({ dest: 1, sync: false }),
  ) as unknown as Logger;
  const identity = loadIdentity(dir);
  const networkText = readText(dir, 'network');
  const token = readText(dir, 'token');
  if (networkText === undefined || token === undefined) {
    throw new Error(
      `${dir} has no network: run \`detr network create\` or \`detr init --join <token>\``,
    );
  }
  const network = parseNetwork(networkText);
  const revocationsText = readText(dir, 'revocations');
  if (revocationsText !== undefined) parseRevocations(revocationsText, network);
  const admin = loadAdmin(dir);
  const store: Store =
    opt<string>(config, 'stored', 'backend') === 'memory'
      ? createMemoryStore({ logger })
      : createLmdbStore(
          { logger },
          {
            path: path(dir, 'store'),
            durability: opt<'flushed' | 'committed'>(config, 'stored', 'durability'),
            cacheMaxEntries: opt<number>(config, 'stored', 'cache_max_entries'),
          },
        );
  await store.start();
  const node = createNode(
    {
      config,
      network,
      token,
      ...(revocationsText !== undefined ? { revocations: revocationsText } : {}),
      ...(admin !== undefined ? { admin } : {}),
    },
    { identity, store, logger },
  );
  node.on('revocations:update', () => {
    const r = node.revocationList;
    if (r !== undefined) writeFileSync(path(dir, 'revocations'), r.text + '\n');
  });
  node.on('peer:connect', (e) =>
    logger.info({ peer: e.peer.toString(), address: e.address }, 'peer:connect'),
  );
  node.on('peer:disconnect', (e) => logger.info({ peer: e.peer.toString() }, 'peer:disconnect'));
  await node.start();
  node.handle('echo', (data) => data);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('stopping');
      await control.close();
      await node.stop();
      await store.stop();
      rmSync(path(dir, 'control'), { force: true });
      logger.info('stopped');
    })());
  const control = await startControlServer(node, {
    token: readText(dir, 'controlToken') ?? '',
    port: opt<number>(config, 'node', 'control_port'),
    metrics: createMetrics(node),
    logger,
    onStop: () => void stop().then(() => process.exit(0)),
  });
  const info: ControlInfo = {
    port: control.port,
    pid: process.pid,
    peerId: node.peerId.toString(),
    addresses: node.addresses(),
  };
  writeFileSync(path(dir, 'control'), JSON.stringify(info) + '\n', { mode: 0o600 });
  logger.info({ ...info, network: network.id }, 'daemon started');
  if (options.signals !== false) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        void stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }
  return { node, control, stop };
}
