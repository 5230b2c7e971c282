import { afterEach, describe, expect, it } from '@jest/globals';
import { noopLogger } from '@detr/interface';
import { parseIceServers, type IceConfig } from '../../src/ice/config.js';
import {
  answerStrategy,
  dialStrategy,
  RELAY_PREDICTED,
  type NegotiationContext,
  type Negotiated,
} from '../../src/webrtc/negotiate.js';
import { webrtcUsers } from '../../src/webrtc/runtime.js';
import type { NatProfile } from '../../src/strategy.js';
import type { SignalPath } from '../../src/signaling/path.js';
import type { SignalBody } from '../../src/signaling/signal.js';
import { memoryPathPair } from '../support/memory-path.js';

const open: NatProfile = { mapping: 'none', filtering: 'endpoint-independent' };
const symmetric: NatProfile = {
  mapping: 'endpoint-dependent',
  filtering: 'address-and-port-dependent',
};
const ctx = (profile: NatProfile, ice: IceConfig = parseIceServers([])): NegotiationContext => ({
  ice,
  profile: () => profile,
  now: () => Date.now(),
  bindAddress: '127.0.0.1',
  logger: noopLogger,
});
// TURN "configured" (so a relay stage is planned) but with no server behind it: that stage fails.
const fakeTurn: IceConfig = { ...parseIceServers([]), hasTurn: true, relay: () => [] };

const opened: Negotiated[] = [];
afterEach(() => {
  for (const n of opened.splice(0)) n.session.close();
  expect(webrtcUsers()).toBe(0);
});

/** A dialer whose every path gets answered by `answer` (one answerer run per stage). */
function wire(answerCtx: NegotiationContext, trickle = true) {
  const answers: Array<Promise<Negotiated>> = [];
  const openPath = (): Promise<SignalPath> => {
    const [d, a] = memoryPathPair(trickle);
    answers.push(
      a
        .next()
        .then((offer: SignalBody) => answerStrategy(answerCtx, a, offer, { timeoutMs: 10_000 })),
    );
    answers.at(-1)!.catch(() => {});
    return Promise.resolve(d);
  };
  return { openPath, answers };
}

describe('staged strategy on loopback', () => {
  it('connects in the direct stage, trickled, and reports both NAT profiles', async () => {
    const { openPath, answers } = wire(ctx(open));
    const stages: string[] = [];
    const n = await dialStrategy(ctx(symmetric), {
      openPath,
      directTimeoutMs: 5000,
      lastTimeoutMs: 10_000,
      onStage: (s) => stages.push(s),
    });
    opened.push(n, await answers.at(-1)!);
    expect(new Set(stages)).toEqual(new Set(['direct'])); // one early retry allowed
    expect(n.stage).toBe('direct');
    expect(n.result.path).toBe('direct');
    expect(n.remoteProfile).toEqual(open);
    // The offer asks for setup:active, so the offerer is the DTLS client (no lost ClientHello).
    expect(n.result.pc.remoteDescription()?.sdp).toMatch(/^a=setup:passive\r?$/m);
    expect((await answers.at(-1)!).remoteProfile).toEqual(symmetric);
  });

  it('connects without trickle (descriptions carry every candidate, as over the DHT)', async () => {
    const { openPath, answers } = wire(ctx(open), false);
    const n = await dialStrategy(ctx(open), {
      openPath,
      directTimeoutMs: 5000,
      lastTimeoutMs: 10_000,
    });
    opened.push(n, await answers.at(-1)!);
    expect(n.result.path).toBe('direct');
  });

  it('moves to the relay stage at once when the answerer predicts direct cannot work', async () => {
    const { openPath, answers } = wire(ctx(symmetric, fakeTurn));
    const stages: string[] = [];
    const t0 = Date.now();
    const err = await dialStrategy(ctx(symmetric, fakeTurn), {
      openPath,
      directTimeoutMs: 8000,
      lastTimeoutMs: 1500,
      onStage: (s) => stages.push(s),
    }).catch((e: Error) => e);
    expect(stages).toEqual(['direct', 'relay']);
    expect(err).toMatchObject({ name: 'IceFailedError' });
    expect(Date.now() - t0).toBeLessThan(7000);
    await expect(answers[0]).rejects.toThrow(RELAY_PREDICTED);
  });

  it('skips the direct stage when the remote profile is already known to predict relay', async () => {
    const { openPath } = wire(ctx(symmetric, fakeTurn));
    const stages: string[] = [];
    await expect(
      dialStrategy(ctx(symmetric, fakeTurn), {
        openPath,
        remoteProfile: symmetric,
        directTimeoutMs: 8000,
        lastTimeoutMs: 1000,
        onStage: (s) => stages.push(s),
      }),
    ).rejects.toMatchObject({ name: 'IceFailedError' });
    expect(stages).toEqual(['relay']);
  });

  it('aborts with AbortError and closes everything', async () => {
    const ac = new AbortController();
    const openPath = (): Promise<SignalPath> => Promise.resolve(memoryPathPair()[0]);
    const p = dialStrategy(ctx(open), {
      openPath,
      directTimeoutMs: 5000,
      lastTimeoutMs: 5000,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
