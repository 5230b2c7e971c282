// createTestnet(n): n real detr DHT nodes on 127.0.0.1 in one process (like hyperdht's
// testnet.js): one admin-signed network, a token per node, the TCP transport (Noise + mux) under
// a connection manager, the stream network, a memory store, and the DHT; every node bootstraps
// from the first one.
import {
  createIdentity,
  createNetwork,
  createTokenVerifier,
  issueToken,
  type Identity,
} from '@detr/aecomms';
import { parseAddress, type Address, type PeerId } from '@detr/interface';
import { createMemoryStore, type Store } from '@detr/stored';
import {
  createConnectionManager,
  createStreamRegistry,
  createTcpTransport,
  type ConnectionManager,
} from '@detr/transport';
import type { DhtInit } from './config.js';
import { createDht } from './dht.js';
import { createStreamNetwork, type StreamNetwork } from './rpc/stream-network.js';
import type { Dht } from './types.js';

/** One node of a {@link Testnet}. */
export interface TestnetNode {
  readonly identity: Identity;
  readonly peer: PeerId;
  /** Its listen address, with `/p2p/<peer>`. */
  readonly address: Address;
  readonly dht: Dht;
  readonly manager: ConnectionManager;
  readonly network: StreamNetwork;
  readonly store: Store;
}

/** A running testnet. */
export interface Testnet {
  readonly nodes: TestnetNode[];
  /** The network id every node belongs to. */
  readonly networkId: Uint8Array;
  /** Where new nodes bootstrap from. */
  readonly bootstrap: readonly Address[];
  /** Starts one more node, bootstrapped into the network. */
  add(): Promise<TestnetNode>;
  /** Stops every node (DHT, connections, listeners, stores). Idempotent. */
  destroy(): Promise<void>;
}

/** Options of {@link createTestnet}. */
export interface TestnetInit {
  /** DHT options of every node (the network id and bootstrap list are set by the testnet). */
  dht?: Partial<DhtInit>;
  /** Nodes bootstrapping at once. @default 10 */
  concurrency?: number;
}

/**
 * Starts `n` DHT nodes on 127.0.0.1 and bootstraps them into one network.
 *
 * @throws {RangeError} when `n` is below 1
 * @example
 * ```ts
 * const testnet = await createTestnet(50)
 * const [a, b] = testnet.nodes
 * await a.dht.put(a.dht.key('x'), value)
 * await b.dht.get(a.dht.key('x'))
 * await testnet.destroy()
 * ```
 */
export async function createTestnet(n: number, init: TestnetInit = {}): Promise<Testnet> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  const admin = createIdentity();
  const network = createNetwork(admin, { name: 'dht testnet' });
  const verifier = createTokenVerifier({}, { network });
  const nodes: TestnetNode[] = [];
  const bootstrap: Address[] = [];
  let destroyed = false;

  const start = async (): Promise<TestnetNode> => {
    const identity = createIdentity();
    const registry = createStreamRegistry();
    const tcp = createTcpTransport(
      {
        identity,
        network,
        token: issueToken(admin, {
          networkId: network.networkId,
          peer: identity.peerId,
          expiresAtMs: Date.now() + 24 * 3600_000,
        }),
        tokenVerifier: verifier,
        registry,
      },
      {},
    );
    const manager = createConnectionManager(
      { peer: identity.peerId, transports: [tcp], registry },
      { listen: [parseAddress('/ip4/127.0.0.1/tcp/0')] },
    );
    await manager.start();
    const stream = createStreamNetwork({ dialer: manager }, { networkId: network.networkId });
    const store = createMemoryStore({}, { sweepIntervalMs: 0 });
    await store.start();
    const dht = createDht(
      { signer: identity, network: stream, store },
      { ...init.dht, networkId: network.networkId, bootstrap: [...bootstrap] },
    );
    await dht.start();
    const listen = manager.addresses()[0] as Address;
    const node: TestnetNode = {
      identity,
      peer: identity.peerId,
      address: parseAddress(`${listen.toString()}/p2p/${identity.peerId.toString()}`),
      dht,
      manager,
      network: stream,
      store,
    };
    nodes.push(node);
    return node;
  };

  const testnet: Testnet = {
    nodes,
    networkId: network.networkId,
    bootstrap,
    async add() {
      const node = await start();
      await node.dht.bootstrap();
      return node;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all(nodes.map((x) => x.dht.stop()));
      for (const x of nodes) x.network.stop();
      await Promise.all(nodes.map(async (x) => x.manager.stop()));
      await Promise.all(nodes.map((x) => x.store.stop()));
    },
  };

  try {
    const first = await start();
    bootstrap.push(first.address);
    const concurrency = init.concurrency ?? 10;
    while (nodes.length < n) {
      const batch: Array<Promise<TestnetNode>> = [];
      for (let i = 0; i < concurrency && nodes.length + batch.length < n; i++)
        batch.push(testnet.add());
      await Promise.all(batch);
    }
    // The first node joined an empty network: let it learn the others now.
    await first.dht.bootstrap();
  } catch (err) {
    await testnet.destroy();
    throw err;
  }
  return testnet;
}
