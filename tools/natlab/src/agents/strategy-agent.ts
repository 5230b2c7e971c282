// A peer running @detr/nat's NAT discovery and staged strategy (direct stage, then TURN relay
// only) inside a host namespace; signaling goes through the lab driver, one path per stage.
// The dialer opens the negotiated channel, sends "ping" and times the "pong".
import { noopLogger } from '@detr/interface';
import {
  answerStrategy,
  dialStrategy,
  discoverNatBehaviour,
  parseIceServers,
  UNKNOWN_PROFILE,
  type IceServerInit,
  type NatProfile,
  type Negotiated,
  type NegotiationContext,
  type SignalBody,
  type SignalPath,
} from '@detr/nat';
import { readLines, writeLine, type AttemptResult } from './proto.js';

const emit = (v: unknown): void => writeLine(process.stdout, v);
let ctx: NegotiationContext | undefined;
let profile: NatProfile = UNKNOWN_PROFILE;
const paths = new Map<string, { queue: SignalBody[]; wake?: () => void; closed: boolean }>();
const accepting = new Set<number>();
const live = new Map<number, Negotiated[]>();

function makePath(id: number, key: string, trickle: boolean): SignalPath {
  const state = { queue: [] as SignalBody[], closed: false } as {
    queue: SignalBody[];
    wake?: () => void;
    closed: boolean;
  };
  paths.set(key, state);
  return {
    route: 'relay',
    trickle,
    sessionId: Buffer.from(key),
    send(body) {
      if (state.closed) return Promise.reject(new Error('path closed'));
      if (!trickle && (body.kind === 'candidate' || body.kind === 'end-of-candidates'))
        return Promise.resolve();
      emit({ ev: 'signal', id, data: { path: key, body } });
      return Promise.resolve();
    },
    async next(options = {}) {
      for (;;) {
        const b = state.queue.shift();
        if (b !== undefined) return b;
        if (state.closed) throw new Error('path closed');
        const signal = options.signal;
        if (signal?.aborted === true) throw new Error('aborted');
        await new Promise<void>((resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          state.wake = resolve;
        });
      }
    },
    close() {
      state.closed = true;
      state.wake?.();
      paths.delete(key);
    },
  };
}

function pingPong(n: Negotiated, dialer: boolean, t0: number): Promise<number> {
  const dc = n.result.channel;
  return new Promise<number>((resolve) => {
    dc.onMessage((m) => {
      if (dialer && m === 'pong') resolve(performance.now() - t0);
      if (!dialer && m === 'ping') {
        dc.sendMessage('pong');
        resolve(performance.now() - t0);
      }
    });
    if (dialer) dc.sendMessage('ping');
  });
}

async function dial(id: number, timeoutMs: number, trickle: boolean): Promise<AttemptResult> {
  const t0 = performance.now();
  let n = 0;
  const stages: string[] = [];
  try {
    const neg = await dialStrategy(ctx as NegotiationContext, {
      openPath: () => Promise.resolve(makePath(id, `${id}/${n++}`, trickle)),
      directTimeoutMs: 2500,
      lastTimeoutMs: timeoutMs,
      onStage: (s) => stages.push(s),
      signal: AbortSignal.timeout(timeoutMs + 3000),
    });
    live.set(id, [...(live.get(id) ?? []), neg]);
    const ttfbMs = await pingPong(neg, true, t0);
    return {
      ok: true,
      path: neg.result.path,
      local: neg.result.localCandidate,
      remote: neg.result.remoteCandidate,
      ttfbMs,
      stages: stages.join('>'),
      remoteNat: `${neg.remoteProfile.mapping}/${neg.remoteProfile.filtering}`,
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message, stages: stages.join('>') };
  }
}

readLines(process.stdin, (cmd) => {
  const id = Number(cmd.id);
  switch (cmd.op) {
    case 'init': {
      const iceServers = cmd.iceServers as IceServerInit[];
      const stun = cmd.stunServers as Array<{ host: string; port: number }>;
      const bindAddress = String(cmd.bindAddress);
      void discoverNatBehaviour(stun, { bindAddress })
        .then(
          (b) => {
            profile = { mapping: b.mapping, filtering: b.filtering };
            return profile;
          },
          () => UNKNOWN_PROFILE,
        )
        .then(() => {
          ctx = {
            ice: parseIceServers(iceServers),
            profile: () => profile,
            now: () => Date.now(),
            bindAddress,
            logger: noopLogger,
          };
          emit({ ev: 'ready', nat: profile });
        });
      break;
    }
    case 'dial':
      void dial(id, Number(cmd.timeoutMs), cmd.trickle !== false).then((result) =>
        emit({ ev: 'result', id, result }),
      );
      break;
    case 'accept':
      accepting.add(id);
      break;
    case 'signal': {
      const { path: key, body } = cmd.data as { path: string; body: SignalBody };
      const existing = paths.get(key);
      if (existing !== undefined) {
        existing.queue.push(body);
        existing.wake?.();
        break;
      }
      if (!accepting.has(id) || body.kind !== 'offer' || ctx === undefined) break;
      const path = makePath(id, key, cmd.trickle !== false);
      const t0 = performance.now();
      void answerStrategy(ctx, path, body, { timeoutMs: 15_000 }).then(
        async (neg) => {
          live.set(id, [...(live.get(id) ?? []), neg]);
          await pingPong(neg, false, t0);
        },
        () => {},
      );
      break;
    }
    case 'close':
      accepting.delete(id);
      for (const n of live.get(id) ?? []) n.session.close();
      live.delete(id);
      break;
    case 'exit':
      for (const list of live.values()) for (const n of list) n.session.close();
      process.exit(0);
  }
});
process.stdin.on('end', () => {
  for (const list of live.values()) for (const n of list) n.session.close();
  process.exit(0);
});
