// Inbound side of the multiplexer: decodes every frame of a decrypted message and checks it
// against the stream's state. Anything the remote could only send by breaking the protocol closes
// the connection with a ProtocolViolationError and a penalty; frames for a stream that just ended
// (still in flight when we reset it) are dropped silently.
import {
  ProtocolViolationError,
  StreamRefusedError,
  StreamResetError,
  UnknownProtocolError,
} from '@detr/interface';
import type { Frame, MuxReset } from '@detr/protocol';
import {
  MessageType,
  MuxErrorCode,
  ProtocolError,
  decodeMessage,
  decodeMuxData,
} from '@detr/protocol';
import { CheckedDecoder, type FrameRules } from '../frames.js';
import type { MuxConnection } from './connection.js';
import { BASE_WINDOW_BYTES } from './options.js';

/** The frame types a mux connection accepts; any other type is a protocol violation. */
export const MUX_TYPES: readonly number[] = Object.freeze([
  MessageType.MuxOpen,
  MessageType.MuxData,
  MessageType.MuxFin,
  MessageType.MuxReset,
  MessageType.MuxWindowUpdate,
  MessageType.MuxPing,
  MessageType.MuxPong,
  MessageType.MuxGoAway,
]);

/**
 * Payloads shorter than this are copied out of the decrypted message, so that a small payload
 * never pins a whole message in memory: what a stream buffers stays within 4x its window.
 */
const COPY_BELOW_BYTES = 16 * 1024;
const MAX_CREDIT = 0xffff_ffff;

/**
 * Makes an error without a stack trace, for what the remote did (a reset, its end of the
 * connection: the stack would only show this frame handler) or a plain local abort. Capturing a
 * stack, then formatting it (a stream's destroy() reads `err.stack`), costs more than the rest
 * of a stream's teardown.
 */
export function stacklessError<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function resetError(code: MuxErrorCode, protocol: string): Error {
  if (code === MuxErrorCode.MUX_ERROR_UNKNOWN_PROTOCOL) return new UnknownProtocolError(protocol);
  if (code === MuxErrorCode.MUX_ERROR_REFUSED) return new StreamRefusedError();
  return new StreamResetError(`The remote reset the stream (code ${code})`);
}

/** Frame rules by version and size limit: one object for every connection alike. */
const rulesByKey = new Map<string, FrameRules>();

function frameRules(version: number, maxMessageBytes: number): FrameRules {
  const key = `${version}:${maxMessageBytes}`;
  let rules = rulesByKey.get(key);
  if (rules === undefined) {
    if (rulesByKey.size >= 64) rulesByKey.clear();
    rules = Object.freeze({
      maxFrameBytes: Math.max(16, maxMessageBytes),
      versions: Object.freeze([version]),
      types: MUX_TYPES,
    });
    rulesByKey.set(key, rules);
  }
  return rules;
}

export class InboundFrames {
  private readonly conn: MuxConnection;
  private readonly decoder: CheckedDecoder;

  constructor(conn: MuxConnection, version: number, maxMessageBytes: number) {
    this.conn = conn;
    this.decoder = new CheckedDecoder(frameRules(version, maxMessageBytes));
  }

  /** Handles one decrypted message. Never throws. */
  push(plaintext: Uint8Array): void {
    const conn = this.conn;
    if (conn.isClosed()) return;
    conn.bytesReceived += plaintext.length;
    let frames: Frame[];
    try {
      frames = this.decoder.push(plaintext);
    } catch (err) {
      conn.violation('Malformed mux frame', 'invalid-message', err);
      return;
    }
    for (const f of frames) {
      if (conn.isClosed()) return;
      conn.frameReceived();
      try {
        this.frame(f);
      } catch (err) {
        if (err instanceof ProtocolError)
          conn.violation('Malformed mux frame', 'invalid-message', err);
        else if (err instanceof ProtocolViolationError) conn.fail(err, 'protocol-violation');
        else {
          conn.log.error({ err }, 'mux: unexpected error handling a frame');
          conn.fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  }

  private frame(f: Frame): void {
    switch (f.type) {
      case MessageType.MuxData: {
        const { streamId, payload } = decodeMuxData(f.body);
        this.data(streamId, payload);
        return;
      }
      case MessageType.MuxOpen: {
        const m = decodeMessage(MessageType.MuxOpen, f.body);
        this.open(m.streamId, m.protocol, m.unidirectional, m.windowBytes);
        return;
      }
      case MessageType.MuxFin:
        this.fin(decodeMessage(MessageType.MuxFin, f.body).streamId);
        return;
      case MessageType.MuxReset:
        this.reset(decodeMessage(MessageType.MuxReset, f.body));
        return;
      case MessageType.MuxWindowUpdate: {
        const m = decodeMessage(MessageType.MuxWindowUpdate, f.body);
        this.window(m.streamId, m.creditBytes);
        return;
      }
      case MessageType.MuxPing:
        this.conn.onPing(decodeMessage(MessageType.MuxPing, f.body).nonce);
        return;
      case MessageType.MuxPong:
        this.conn.onPong(decodeMessage(MessageType.MuxPong, f.body).nonce);
        return;
      case MessageType.MuxGoAway:
        decodeMessage(MessageType.MuxGoAway, f.body);
        this.conn.onGoAway();
        return;
      default:
        throw new ProtocolViolationError(`Unexpected frame type ${f.type}`);
    }
  }

  /** The open stream `id`, undefined for a stream that ended; throws for one never opened. */
  private stream(id: number, what: string): ReturnType<MuxConnection['open']['get']> {
    const s = this.conn.open.get(id);
    if (s === undefined && !this.conn.table.isPast(id)) {
      throw new ProtocolViolationError(`${what} for stream ${id}, which was never opened`);
    }
    return s;
  }

  private data(id: number, payload: Uint8Array): void {
    const s = this.stream(id, 'Data');
    if (s === undefined) return;
    if (s.recvDone) throw new ProtocolViolationError(`Data on stream ${id} after its half-close`);
    s.recvReceived += payload.length;
    if (s.recvReceived > s.recvAllowed) {
      throw new ProtocolViolationError(`Stream ${id}: the remote sent more than its credit`);
    }
    if (payload.length === 0) return;
    const chunk =
      payload.length < COPY_BELOW_BYTES
        ? Buffer.from(payload)
        : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    s.pushed += chunk.length;
    s.push(chunk);
    this.conn.consumed(s);
  }

  private open(id: number, protocol: string, uni: boolean, windowBytes: number): void {
    const conn = this.conn;
    if (conn.table.isLocal(id)) {
      throw new ProtocolViolationError(`Remote opened stream ${id} with our parity`);
    }
    if (id <= conn.table.lastRemoteId) {
      throw new ProtocolViolationError(`Stream id ${id} reused or out of order`);
    }
    conn.table.lastRemoteId = id;
    conn.acceptStream(id, protocol, uni, Math.max(BASE_WINDOW_BYTES, windowBytes));
  }

  private fin(id: number): void {
    const s = this.stream(id, 'Half-close');
    if (s === undefined) return;
    if (s.recvDone) throw new ProtocolViolationError(`Second half-close on stream ${id}`);
    s.recvDone = true;
    s.push(null);
  }

  private reset(m: MuxReset): void {
    const s = this.stream(m.streamId, 'Reset');
    if (s === undefined) return;
    s.resetByRemote = true;
    s.destroy(stacklessError(() => resetError(m.code, s.protocol)));
  }

  private window(id: number, credit: number): void {
    if (id === 0) return; // connection-level credit: not used by this implementation
    const s = this.stream(id, 'Window update');
    if (s === undefined) return;
    if (s.sendCredit + credit > MAX_CREDIT) {
      throw new ProtocolViolationError(`Stream ${id}: credit above 2^32 - 1`);
    }
    this.conn.onCredit(s, credit);
  }
}
