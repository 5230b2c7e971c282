// One WebRTC negotiation: a PeerConnection and its single negotiated data channel, driven by
// signals from and to the remote (offer/answer, trickled candidates). Every node-datachannel
// callback is guarded: an exception escaping one aborts the whole process.
import { PeerConnection, type DataChannel } from 'node-datachannel';
import { AbortError, TimeoutError } from '@detr/interface';
import { IceFailedError, SignalingError, SignalingViolationError } from '../errors.js';
import { adopt, closeAdopted, releaseWebRTC, retainWebRTC } from './runtime.js';
import { sdpFingerprint, splitCandidates } from './sdp.js';

export { sdpFingerprint } from './sdp.js';
import type {
  SessionSignal,
  RtcSessionInit,
  RtcSessionResult,
  RtcSession,
} from './session-types.js';

export type {
  SessionSignal,
  RtcSessionInit,
  RtcSessionResult,
  RtcSession,
} from './session-types.js';

const MAX_CANDIDATES = 64;

/**
 * Creates a session. The offerer sends its offer at once; the answerer waits for one.
 *
 * @throws {TypeError} when node-datachannel rejects the configuration (e.g. a bad bind address)
 * @example
 * ```ts
 * const s = createRtcSession({ role: 'offerer', iceServers, policy: 'all', onSignal: send })
 * signaling.on('signal', (sig) => s.receive(sig))
 * const { channel, path } = await s.open({ signal })
 * ```
 */
export function createRtcSession(init: RtcSessionInit): RtcSession {
  const trickle = init.trickle ?? true;
  retainWebRTC();
  let pc: PeerConnection;
  try {
    pc = new PeerConnection(init.label ?? `detr-${init.role}`, {
      iceServers: [...init.iceServers],
      iceTransportPolicy: init.policy,
      maxMessageSize: init.maxMessageBytes ?? 262144,
      ...(init.bindAddress !== undefined ? { bindAddress: init.bindAddress } : {}),
      ...(init.portRangeBegin !== undefined ? { portRangeBegin: init.portRangeBegin } : {}),
      ...(init.portRangeEnd !== undefined ? { portRangeEnd: init.portRangeEnd } : {}),
    });
  } catch (err) {
    releaseWebRTC();
    throw new TypeError(`WebRTC configuration rejected: ${(err as Error).message}`);
  }
  adopt('pc', pc);
  let channel: DataChannel | undefined;
  let hsChannel: DataChannel | undefined;
  let openChannels = 0;
  let closed = false;
  let opened = false;
  let failure: Error | undefined;
  let candidates = 0;
  let rejectedCandidates = 0;
  let haveRemote = false;
  let localReady = false;
  let held = init.holdCandidates === true;
  const early: SessionSignal[] = [];
  const closeListeners: Array<(err?: Error) => void> = [];
  let settle: { resolve: (r: RtcSessionResult) => void; reject: (e: Error) => void } | undefined;
  let result: RtcSessionResult | undefined;

  const send = (s: SessionSignal): void => {
    if (closed) return;
    try {
      init.onSignal(s);
    } catch {
      // the caller's problem; never into node-datachannel
    }
  };
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };

  const fail = (err: Error): void => {
    if (closed) return;
    failure ??= err;
    if (!opened) settle?.reject(err);
    close();
  };

  const finishOpen = (): void => {
    if (opened || closed || channel === undefined || hsChannel === undefined) return;
    if (++openChannels < 2) return;
    opened = true;
    const pair = pc.getSelectedCandidatePair();
    const local = pc.localDescription();
    const remoteFp = pc.remoteFingerprint();
    const localFingerprint = local === null ? undefined : sdpFingerprint(local.sdp);
    if (localFingerprint === undefined || remoteFp.value === '') {
      fail(new SignalingError('no DTLS fingerprint'));
      return;
    }
    const relayed = pair !== null && (pair.local.type === 'relay' || pair.remote.type === 'relay');
    result = {
      handshakeChannel: hsChannel,
      channel,
      pc,
      path: relayed ? 'relayed' : 'direct',
      localCandidate:
        pair === null ? '' : `${pair.local.type} ${pair.local.address}:${pair.local.port}`,
      remoteCandidate:
        pair === null ? '' : `${pair.remote.type} ${pair.remote.address}:${pair.remote.port}`,
      localFingerprint,
      remoteFingerprint: `${remoteFp.algorithm} ${remoteFp.value.toUpperCase()}`,
    };
    settle?.resolve(result);
  };

  // Two negotiated channels (no in-band open round trip): 0 carries the handshake, 1 the mux.
  // Before `open()` resolves a channel failing fails the session; afterwards their owners
  // (handshake, pipe) watch them, and the session ends with the PeerConnection.
  const makeChannel = (): void => {
    if (channel !== undefined) return;
    const watch = (dc: DataChannel, name: string): void => {
      dc.onOpen(guard(finishOpen));
      dc.onError(
        guard((e: string) => {
          if (!opened) fail(new IceFailedError(`${name} channel: ${e.slice(0, 200)}`));
        }),
      );
      dc.onClosed(
        guard(() => {
          if (!opened) fail(new IceFailedError(`${name} channel closed`));
        }),
      );
    };
    hsChannel = pc.createDataChannel('detr-hs', { negotiated: true, id: 0 });
    adopt('dc', hsChannel);
    watch(hsChannel, 'handshake');
    channel = pc.createDataChannel('detr', { negotiated: true, id: 1 });
    adopt('dc', channel);
    watch(channel, 'mux');
  };

  pc.onLocalDescription(
    guard((sdp: string, type: string) => {
      // Our ICE transport exists once our description does: remote candidates can go in now.
      localReady = true;
      if (!held) for (const e of early.splice(0)) apply(e);
      if (!trickle) return;
      if (type === 'offer' || type === 'answer') send({ kind: type, sdp });
    }),
  );
  pc.onLocalCandidate(
    guard((candidate: string, mid: string) => {
      if (trickle) send({ kind: 'candidate', candidate, mid });
    }),
  );
  pc.onGatheringStateChange(
    guard((state: string) => {
      if (state !== 'complete') return;
      if (trickle) {
        send({ kind: 'end-of-candidates' });
        return;
      }
      const d = pc.localDescription();
      if (d !== null && (d.type === 'offer' || d.type === 'answer'))
        send({ kind: d.type, sdp: d.sdp });
    }),
  );
  pc.onStateChange(
    guard((state: string) => {
      if (state === 'failed') fail(new IceFailedError('ICE failed'));
      else if (state === 'closed') fail(new IceFailedError('peer connection closed'));
      else if (state === 'disconnected' && opened) fail(new IceFailedError('ICE disconnected'));
    }),
  );

  const apply = (s: SessionSignal): void => {
    switch (s.kind) {
      case 'offer':
      case 'answer': {
        const expected = init.role === 'offerer' ? 'answer' : 'offer';
        if (s.kind !== expected || haveRemote)
          throw new SignalingViolationError(`unexpected ${s.kind}`);
        if (typeof s.sdp !== 'string' || s.sdp.length === 0 || s.sdp.length > 16384) {
          throw new SignalingViolationError('bad SDP');
        }
        haveRemote = true;
        // Candidates inside a description (no trickle) are added one by one once our ICE
        // transport exists: libdatachannel refuses them while it is still being created.
        const { sdp: stripped, candidates: inline } = splitCandidates(s.sdp);
        if (inline.length > MAX_CANDIDATES)
          throw new SignalingViolationError('too many candidates');
        pc.setRemoteDescription(stripped, s.kind);
        if (init.role === 'answerer') makeChannel();
        early.unshift(...inline);
        if (localReady && !held) for (const e of early.splice(0)) apply(e);
        break;
      }
      case 'candidate':
        if (!haveRemote || !localReady || held) {
          if (early.length >= MAX_CANDIDATES)
            throw new SignalingViolationError('too many candidates');
          early.push(s);
          return;
        }
        if (++candidates > MAX_CANDIDATES) throw new SignalingViolationError('too many candidates');
        if (typeof s.candidate !== 'string' || s.candidate.length > 512)
          throw new SignalingViolationError('bad candidate');
        try {
          pc.addRemoteCandidate(
            s.candidate,
            typeof s.mid === 'string' && s.mid !== '' ? s.mid : '0',
          );
        } catch {
          // An unparsable candidate, or one arriving while the ICE transport is being torn down:
          // it cannot help this session, and it must not end it.
          rejectedCandidates++;
        }
        break;
      case 'end-of-candidates':
        break;
    }
  };

  function close(): void {
    if (closed) return;
    closed = true;
    if (!opened) settle?.reject(failure ?? new AbortError('session closed'));
    closeAdopted('dc', hsChannel);
    closeAdopted('dc', channel);
    closeAdopted('pc', pc);
    releaseWebRTC();
    for (const l of closeListeners.splice(0)) {
      try {
        l(opened ? failure : undefined);
      } catch {
        // listeners must not throw
      }
    }
  }

  if (init.role === 'offerer') {
    try {
      makeChannel();
    } catch (err) {
      close();
      throw err;
    }
  }

  const openPromise = new Promise<RtcSessionResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  openPromise.catch(() => {});

  return {
    get closed() {
      return closed;
    },
    get rejectedCandidates() {
      return rejectedCandidates;
    },
    open(options = {}) {
      if (result !== undefined) return Promise.resolve(result);
      if (closed) return Promise.reject(failure ?? new AbortError('session closed'));
      const { signal } = options;
      if (signal === undefined) return openPromise;
      if (signal.aborted) {
        fail(abortReason(signal));
        return openPromise;
      }
      const onAbort = (): void => fail(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      return openPromise.finally(() => signal.removeEventListener('abort', onAbort));
    },
    receive(s) {
      if (closed) return;
      try {
        apply(s);
      } catch (err) {
        fail(
          err instanceof SignalingError
            ? err
            : new SignalingViolationError(`bad signal: ${(err as Error).message}`),
        );
      }
    },
    releaseCandidates() {
      if (!held || closed) return;
      held = false;
      if (!localReady || !haveRemote) return;
      try {
        for (const e of early.splice(0)) apply(e);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    },
    close,
    onClose(listener) {
      if (closed) listener(opened ? failure : undefined);
      else closeListeners.push(listener);
    },
  };
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (typeof r === 'object' && r !== null && (r as { name?: unknown }).name === 'TimeoutError') {
    return new TimeoutError('WebRTC session timed out', { cause: r });
  }
  return new AbortError(undefined, { cause: r });
}
