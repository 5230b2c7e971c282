// A small run of the node benchmark's parts: two nodes point to point, pub/sub on a few nodes
// beside gossipsub on as many (the 50-node run is `npm run bench -- node`).
import { describe, expect, it } from '@jest/globals';
import node, {
  detrPointToPoint,
  detrPubSub,
  detrPubSubEngine,
  libp2pPointToPoint,
  libp2pPubSub,
} from '../src/benches/node.js';

describe('node benchmark (small)', () => {
  it('is a benchmark module', () => {
    expect(node.name).toBe('node');
    expect(typeof node.run).toBe('function');
  });

  it('measures send, acknowledged send and request round trips between two detr nodes', async () => {
    const r = await detrPointToPoint(20);
    for (const v of [r.ff, r.ack, r.rtt]) {
      expect(v).toHaveLength(20);
      for (const x of v) expect(x).toBeGreaterThan(0);
    }
  }, 60_000);

  it('measures the js-libp2p equivalents', async () => {
    const r = await libp2pPointToPoint(20);
    expect(r.ff).toHaveLength(20);
    expect(r.rtt).toHaveLength(20);
  }, 60_000);

  it('delivers every pub/sub message once on a few detr nodes, and on gossipsub', async () => {
    const d = await detrPubSub(5, 3);
    expect(d.delivered).toBe(d.expected);
    expect(d.duplicates).toBe(0);
    const e = await detrPubSubEngine(5, 3);
    expect(e.delivered).toBe(e.expected);
    expect(e.duplicates).toBe(0);
    const l = await libp2pPubSub(5, 3);
    expect(l.delivered).toBe(l.expected);
  }, 90_000);
});
