// The DHT over the real stack on 127.0.0.1: TCP, Noise XX with the network token, the detr mux,
// the connection manager, the stream network.
import { afterEach, describe, expect, it } from '@jest/globals';
import { DhtUnreachableError } from '../src/errors.js';
import { createTestnet, type Testnet } from '../src/testnet.js';

const nets: Testnet[] = [];
afterEach(async () => {
  for (const n of nets.splice(0)) await n.destroy();
});

describe('createTestnet', () => {
  it('boots n nodes over TCP that put, get, announce and find each other', async () => {
    const net = await createTestnet(8);
    nets.push(net);
    expect(net.nodes).toHaveLength(8);
    for (const n of net.nodes) expect(n.dht.stats().peers).toBeGreaterThanOrEqual(5);
    const [a, b, c] = [net.nodes[1]!, net.nodes[6]!, net.nodes[3]!];
    const key = a.dht.key('over-tcp');
    const put = await a.dht.put(key, new TextEncoder().encode('hello'));
    expect(put.replicas).toBe(8);
    expect(new TextDecoder().decode((await b.dht.get(key))!.value)).toBe('hello');
    await c.dht.announce();
    const where = await b.dht.findPeer(c.peer);
    expect(where?.addresses.map(String)).toEqual([c.manager.addresses()[0]!.toString()]);
    const late = await net.add();
    expect((await late.dht.get(key))?.seq).toBe(put.seq);
  });

  it('keeps networks apart: a node of another network cannot even reach the DHT', async () => {
    const one = await createTestnet(2);
    const two = await createTestnet(2);
    nets.push(one, two);
    const stranger = two.nodes[0]!;
    const target = one.nodes[1]!;
    await expect(
      stranger.network.request(
        { peer: target.peer, addresses: [target.address] },
        { requestId: 1, senderAddresses: [], body: 'ping', ping: {} },
        { timeoutMs: 5000 },
      ),
    ).rejects.toThrow(DhtUnreachableError);
    expect(one.nodes[1]!.dht.peers().some((p) => p.peer.equals(stranger.peer))).toBe(false);
  });
});
