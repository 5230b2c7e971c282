// The staged connection strategy, from both ends: the dialer tries the planned ICE stages in
// order (direct, then TURN relay only), each over its own signal path; the answerer answers one
// stage, or tells the dialer to skip a direct stage both NAT profiles say cannot work.
import type { IceServer } from 'node-datachannel';
import { AbortError, combineSignals, ProtocolViolationError, type Logger } from '@detr/interface';
import { IceFailedError, SignalingError, SignalingViolationError } from '../errors.js';
import type { SignalPath } from '../signaling/path.js';
import type { SignalBody } from '../signaling/signal.js';
import { planStages, predictPath, type NatProfile } from '../strategy.js';
import type { IceConfig } from '../ice/config.js';
import {
  createRtcSession,
  sdpFingerprint,
  type RtcSession,
  type RtcSessionResult,
  type SessionSignal,
} from './session.js';

/** Whether `err` says the remote broke the signaling protocol (it deserves a penalty). */
export function isSignalingViolation(err: unknown): err is Error {
  return err instanceof SignalingViolationError || err instanceof ProtocolViolationError;
}

/**
 * How long an answerer signaling without trickle keeps the offer's candidates after its answer
 * was delivered (three of the DHT mailbox's default fast polls).
 */
const ANSWER_GRACE_MS = 750;

/**
 * Retries of a stage whose ICE or DTLS failed early (within the first half of its time): on a
 * busy host the answerer's first checks can reach the dialer before it applied the answer, and
 * that pair fails at once. A retry costs one negotiation (milliseconds on a direct path).
 */
const EARLY_RETRIES = 2;

/** The close reason an answerer sends when its side of a stage failed. */
const REMOTE_FAILED = 'failed';

/** Why an answerer declines a direct stage. */
export const RELAY_PREDICTED = 'relay-predicted';

/** What both ends of a negotiation need. */
export interface NegotiationContext {
  readonly ice: IceConfig;
  /** Our NAT profile now. */
  profile(): NatProfile;
  readonly now: () => number;
  readonly bindAddress?: string;
  readonly portRangeBegin?: number;
  readonly portRangeEnd?: number;
  readonly logger: Logger;
}

/** A negotiated, open session. */
export interface Negotiated {
  readonly session: RtcSession;
  readonly result: RtcSessionResult;
  readonly stage: 'direct' | 'relay';
  /** The remote's NAT profile, from its description. */
  readonly remoteProfile: NatProfile;
}

export interface DialStrategyOptions {
  /** Only the direct stage (hole punching), never TURN: for upgrading a relayed connection. */
  readonly directOnly?: boolean;
  /** Opens a fresh signal path to the target (one per stage). */
  openPath(signal: AbortSignal): Promise<SignalPath>;
  /** The remote's profile if known from an earlier negotiation. */
  readonly remoteProfile?: NatProfile;
  /** Time given to the direct stage when a relay stage follows. */
  readonly directTimeoutMs: number;
  /** Time given to the last stage. */
  readonly lastTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called as each stage starts (tests, metrics). */
  onStage?(stage: 'direct' | 'relay'): void;
}

function servers(ctx: NegotiationContext, stage: 'direct' | 'relay'): IceServer[] {
  return stage === 'relay' ? ctx.ice.relay(ctx.now()) : ctx.ice.direct();
}

function sessionFor(
  ctx: NegotiationContext,
  role: 'offerer' | 'answerer',
  stage: 'direct' | 'relay',
  path: SignalPath,
  onSendError: (err: Error) => void,
): RtcSession {
  const profile = ctx.profile();
  // Over a stream (trickle) the offerer is the DTLS client (its offer says setup:active): the
  // answerer's own checks usually connect first, its DTLS server exists when the ClientHello
  // comes, and no 1 s DTLS retransmission is paid. Without trickle (DHT records, slow and
  // polled) the answerer's early checks connected before the offerer had the answer, and the
  // offerer's DTLS could not verify us (~40% of negotiations failed): there the answerer holds
  // the offer's candidates until its answer was delivered and a grace period more, so the
  // offerer's checks connect first — and the offer stays actpass, making the answerer the DTLS
  // client, whose ClientHello then finds the offerer's DTLS transport ready (loopback connect
  // 1.2 s → 0.3 s, no retry).
  const hold = role === 'answerer' && !path.trickle;
  const onSignal = (s: SessionSignal): void => {
    let body: SignalBody;
    if (s.kind === 'offer' || s.kind === 'answer') {
      const fingerprint = sdpFingerprint(s.sdp) ?? '';
      const sdp =
        s.kind === 'offer' && path.trickle
          ? s.sdp.replace(/^a=setup:actpass$/gm, 'a=setup:active')
          : s.sdp;
      body = { kind: s.kind, sdp, fingerprint, stage, nat: profile };
    } else if (s.kind === 'candidate') body = s;
    else body = { kind: 'end-of-candidates' };
    const sent = path.send(body);
    sent.catch(onSendError);
    if (hold && body.kind === 'answer') {
      void sent.then(
        () => setTimeout(() => session.releaseCandidates(), ANSWER_GRACE_MS).unref(),
        () => {},
      );
    }
  };
  const session = createRtcSession({
    role,
    iceServers: servers(ctx, stage),
    policy: stage === 'relay' ? 'relay' : 'all',
    trickle: path.trickle,
    onSignal,
    label: `detr-${role}-${stage}`,
    holdCandidates: hold,
    ...(ctx.bindAddress !== undefined ? { bindAddress: ctx.bindAddress } : {}),
    ...(ctx.portRangeBegin !== undefined ? { portRangeBegin: ctx.portRangeBegin } : {}),
    ...(ctx.portRangeEnd !== undefined ? { portRangeEnd: ctx.portRangeEnd } : {}),
  });
  return session;
}

/** Feeds remote signals into a session until it opens or fails; rejects on a close or violation. */
async function pump(
  path: SignalPath,
  session: RtcSession,
  expect: 'offer' | 'answer',
  signal: AbortSignal,
  onDescription: (body: Extract<SignalBody, { kind: 'offer' | 'answer' }>) => void,
): Promise<never> {
  for (;;) {
    const body = await path.next({ signal });
    switch (body.kind) {
      case 'offer':
      case 'answer':
        if (body.kind !== expect) throw new SignalingViolationError(`unexpected ${body.kind}`);
        if (sdpFingerprint(body.sdp) !== body.fingerprint)
          throw new SignalingViolationError('fingerprint mismatch');
        onDescription(body);
        session.receive({ kind: body.kind, sdp: body.sdp });
        break;
      case 'candidate':
        session.receive(body);
        break;
      case 'end-of-candidates':
        break;
      case 'close':
        // The answerer's side of this stage failed (ICE or DTLS, as ours would): retryable.
        if (body.reason === REMOTE_FAILED) throw new IceFailedError('the remote stage failed');
        throw new SignalingError(
          body.reason === RELAY_PREDICTED ? RELAY_PREDICTED : `remote closed: ${body.reason}`,
        );
    }
  }
}

/**
 * Dials through the staged strategy.
 *
 * @throws {IceFailedError} when every stage failed (`cause`: the last stage's error)
 * @throws {SignalingViolationError} / {ProtocolViolationError} when the remote broke the protocol
 * @throws {AbortError} / {TimeoutError} when `signal` fires first
 * @example
 * ```ts
 * const { result, stage } = await dialStrategy(ctx, { openPath, directTimeoutMs: 2500, lastTimeoutMs: 15000, signal })
 * ```
 */
export async function dialStrategy(
  ctx: NegotiationContext,
  options: DialStrategyOptions,
): Promise<Negotiated> {
  const local = ctx.profile();
  const prediction =
    options.remoteProfile === undefined ? 'unknown' : predictPath(local, options.remoteProfile);
  const stages = planStages(options.directOnly === true ? 'direct' : prediction, {
    hasTurn: ctx.ice.hasTurn && options.directOnly !== true,
    directTimeoutMs: options.directTimeoutMs,
    lastTimeoutMs: options.lastTimeoutMs,
  });
  let lastError: Error | undefined;
  const callerAborted = (): boolean => options.signal?.aborted === true;
  let retries = 0;
  for (let i = 0; i < stages.length; i++) {
    const { stage, timeoutMs } = stages[i] as (typeof stages)[number];
    const more = i < stages.length - 1;
    const stageStart = ctx.now();
    if (options.signal?.aborted === true)
      throw new AbortError(undefined, { cause: options.signal.reason });
    options.onStage?.(stage);
    const stageAbort = new AbortController();
    const signal = combineSignals(
      options.signal,
      AbortSignal.timeout(timeoutMs),
      stageAbort.signal,
    );
    let path: SignalPath | undefined;
    let session: RtcSession | undefined;
    let remoteProfile: NatProfile | undefined;
    try {
      path = await options.openPath(signal);
      const p = path;
      session = sessionFor(ctx, 'offerer', stage, p, (err) => stageAbort.abort(err));
      const s = session;
      const reader = pump(p, s, 'answer', signal, (answer) => {
        remoteProfile = answer.nat;
        // The answer says where the remote stands: skip a direct stage that cannot work.
        if (stage === 'direct' && more && predictPath(local, answer.nat) === 'relay') {
          stageAbort.abort(new SignalingError(RELAY_PREDICTED));
        }
      });
      reader.catch(() => {});
      const result = await Promise.race([s.open({ signal }), reader]);
      p.close();
      return {
        session: s,
        result,
        stage,
        remoteProfile: remoteProfile ?? { mapping: 'unknown', filtering: 'unknown' },
      };
    } catch (err) {
      session?.close();
      if (path !== undefined) {
        path.send({ kind: 'close', reason: 'next stage' }).catch(() => {});
        path.close();
      }
      if (callerAborted()) throw new AbortError(undefined, { cause: options.signal?.reason });
      // A remote that breaks the protocol gets no second stage.
      if (isSignalingViolation(err)) throw err;
      lastError = err as Error;
      ctx.logger.debug({ stage, err: lastError.message }, 'ICE stage failed');
      // A stage whose ICE or DTLS reported failure early (in the first half of its time, e.g. a
      // DTLS role race) is tried again, up to EARLY_RETRIES times, before the strategy moves on.
      if (
        retries < EARLY_RETRIES &&
        err instanceof IceFailedError &&
        ctx.now() - stageStart < timeoutMs / 2
      ) {
        retries++;
        i--;
      }
    }
  }
  throw new IceFailedError(`every ICE stage failed: ${lastError?.message ?? 'none planned'}`, {
    cause: lastError,
  });
}

/**
 * Answers one negotiation (one stage of the remote's strategy). Declines a direct stage both
 * profiles predict cannot work when TURN is configured (the dialer moves on at once).
 *
 * @throws {SignalingError} when the offer is declined or the remote broke off
 * @throws {IceFailedError} when ICE failed
 * @throws {TimeoutError} when `timeoutMs` passed first
 * @example
 * ```ts
 * signaling.onOffer((path, from, offer) => answerStrategy(ctx, path, offer, { timeoutMs: 15000 }).then(secure))
 * ```
 */
export async function answerStrategy(
  ctx: NegotiationContext,
  path: SignalPath,
  offer: SignalBody,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Negotiated> {
  if (offer.kind !== 'offer') {
    path.close();
    throw new SignalingViolationError('negotiation must start with an offer');
  }
  const local = ctx.profile();
  if (offer.stage === 'direct' && ctx.ice.hasTurn && predictPath(local, offer.nat) === 'relay') {
    await path.send({ kind: 'close', reason: RELAY_PREDICTED }).catch(() => {});
    path.close();
    throw new SignalingError(RELAY_PREDICTED);
  }
  if (sdpFingerprint(offer.sdp) !== offer.fingerprint) {
    path.close();
    throw new SignalingViolationError('fingerprint mismatch');
  }
  const stageAbort = new AbortController();
  const signal = combineSignals(
    options.signal,
    AbortSignal.timeout(options.timeoutMs),
    stageAbort.signal,
  );
  const session = sessionFor(ctx, 'answerer', offer.stage, path, (err) => stageAbort.abort(err));
  try {
    session.receive({ kind: 'offer', sdp: offer.sdp });
    const reader = pump(path, session, 'offer', signal, () => {});
    reader.catch(() => {});
    const result = await Promise.race([session.open({ signal }), reader]);
    path.close();
    return { session, result, stage: offer.stage, remoteProfile: offer.nat };
  } catch (err) {
    session.close();
    // Tell the dialer at once (it moves on to its next stage instead of waiting out this one).
    // (A violation is not worth a retry: the dialer gets another reason.)
    const reason = isSignalingViolation(err) ? 'protocol-violation' : REMOTE_FAILED;
    await path.send({ kind: 'close', reason }).catch(() => {});
    path.close();
    throw err;
  }
}
