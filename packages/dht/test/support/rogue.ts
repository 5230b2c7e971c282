// Hostile nodes for the simulator: an endpoint of the simulated network whose answers the test
// writes, which first makes honest nodes add it to their routing tables (it asks them something,
// advertising its address, and answers their ping-back).
import type { Identity } from '@detr/aecomms';
import { parseAddress, type PeerId } from '@detr/interface';
import { DhtStatus, type DhtRequest, type DhtResponse } from '@detr/protocol';
import type { DhtNetwork, RpcInbound } from '../../src/rpc/network.js';
import type { Simulation, SimNode } from '../../src/sim/harness.js';
import { identity } from './fixtures.js';

/** `Omit` over each member of a union. */
export type RequestBody = DhtRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'requestId' | 'senderAddresses'>
    : never
  : never;

export type RogueAnswer = (inbound: RpcInbound) => DhtResponse | undefined;

export interface Rogue {
  readonly identity: Identity;
  readonly peer: PeerId;
  readonly address: string;
  readonly endpoint: DhtNetwork;
  /** Replaces how it answers FIND_NODE / FIND_VALUE / STORE (PING is always answered). */
  answer: RogueAnswer;
  /** Sends one request to `node`. */
  send(node: SimNode, request: RequestBody): Promise<DhtResponse>;
  /** Gets itself into `nodes`' routing tables (as far as their rules allow). */
  introduce(nodes: readonly SimNode[]): Promise<void>;
}

export const ok = (r: DhtRequest): DhtResponse => ({
  requestId: r.requestId,
  status: DhtStatus.DHT_STATUS_OK,
  closerPeers: [],
  error: '',
});

export function rogue(
  sim: Simulation,
  address: string,
  answer: RogueAnswer = (i) => ok(i.request),
): Rogue {
  const id = identity();
  const endpoint = sim.net.endpoint(id.peerId, parseAddress(address));
  let next = 1;
  const r: Rogue = {
    identity: id,
    peer: id.peerId,
    address,
    endpoint,
    answer,
    async send(node, request) {
      const reply = await endpoint.request(
        { peer: node.peer, addresses: [parseAddress(node.address)] },
        { requestId: next++, senderAddresses: [address], ...request },
        { timeoutMs: 2000 },
      );
      return reply.response;
    },
    async introduce(nodes) {
      await sim.clock.runUntil(
        Promise.all(nodes.map((n) => r.send(n, { body: 'ping', ping: {} }).catch(() => undefined))),
      );
      await sim.clock.run(3000); // their ping-backs
    },
  };
  endpoint.setHandler((inbound) =>
    Promise.resolve(inbound.request.body === 'ping' ? ok(inbound.request) : r.answer(inbound)),
  );
  return r;
}
