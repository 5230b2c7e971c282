// Wire-format throughput of @detr/protocol: encoding and decoding a MuxData frame with a 64 KiB
// payload (the transport's hot path) and 100-byte messages (MuxData fast path and MsgData through
// the generic validating protobuf codec), in MB/s (10^6 payload bytes per second) and msgs/s.
// Single-threaded, in-process, no I/O.
import {
  MessageType,
  createFrameDecoder,
  decodeFrameBody,
  decodeMuxData,
  encodeDataFrame,
  encodeDataHeader,
  encodeFrame,
} from '@detr/protocol';
import type { Benchmark, BenchContext } from '../lib/harness.js';

export interface Rate {
  /** Operations per second. */
  readonly opsPerSec: number;
  /** Payload MB/s (10^6 bytes). */
  readonly mbPerSec: number;
}

let sink = 0;

/**
 * Runs `op` (which handles `batch` messages of `payloadBytes` each) repeatedly for about
 * `durationMs` after a warm-up, and returns the best of three rounds.
 */
export function measure(
  op: () => void,
  batch: number,
  payloadBytes: number,
  durationMs: number,
): Rate {
  const warmUntil = performance.now() + durationMs / 4;
  while (performance.now() < warmUntil) op();
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    const stop = start + durationMs / 3;
    while (now < stop) {
      for (let i = 0; i < 16; i++) op();
      n += 16;
      now = performance.now();
    }
    best = Math.max(best, (n * batch) / ((now - start) / 1000));
  }
  return { opsPerSec: best, mbPerSec: (best * payloadBytes) / 1e6 };
}

function payload(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

export interface ProtocolFigures {
  readonly [name: string]: Rate;
}

/** Every figure of the benchmark; `durationMs` per figure. */
export function measureProtocol(durationMs: number): ProtocolFigures {
  const big = payload(64 * 1024);
  const small = payload(100);
  const bigFrame = encodeDataFrame(1, big);
  const smallFrame = encodeDataFrame(1, small);
  const msgFrame = encodeFrame(MessageType.MsgData, {
    channel: 'chat',
    seq: 1,
    qos: 1,
    payload: small,
  });
  const stream = (() => {
    const out = new Uint8Array(smallFrame.length * 1000);
    for (let i = 0; i < 1000; i++) out.set(smallFrame, i * smallFrame.length);
    return out;
  })();
  const decoder = createFrameDecoder();
  const chunks16k = [0, 1, 2, 3, 4].map((i) => bigFrame.subarray(i * 16384, (i + 1) * 16384));

  const figures: Record<string, Rate> = {};
  // 64 KiB MuxData
  figures['data64k.encode_header'] = measure(
    () => {
      sink += encodeDataHeader(1, big.length).length;
    },
    1,
    big.length,
    durationMs,
  );
  figures['data64k.encode_frame'] = measure(
    () => {
      sink += encodeDataFrame(1, big).length;
    },
    1,
    big.length,
    durationMs,
  );
  figures['data64k.decode'] = measure(
    () => {
      for (const f of decoder.push(bigFrame)) sink += decodeMuxData(f.body).payload.length;
    },
    1,
    big.length,
    durationMs,
  );
  figures['data64k.decode_16k_chunks'] = measure(
    () => {
      for (const c of chunks16k)
        for (const f of decoder.push(c)) sink += decodeMuxData(f.body).payload.length;
    },
    1,
    big.length,
    durationMs,
  );
  // 100-byte MuxData (fast path)
  figures['msg100.mux.encode_header'] = measure(
    () => {
      sink += encodeDataHeader(1, small.length).length;
    },
    1,
    small.length,
    durationMs,
  );
  figures['msg100.mux.encode_frame'] = measure(
    () => {
      sink += encodeDataFrame(1, small).length;
    },
    1,
    small.length,
    durationMs,
  );
  figures['msg100.mux.decode'] = measure(
    () => {
      for (const f of decoder.push(smallFrame)) sink += decodeMuxData(f.body).payload.length;
    },
    1,
    small.length,
    durationMs,
  );
  figures['msg100.mux.decode_stream'] = measure(
    () => {
      for (const f of decoder.push(stream)) sink += decodeMuxData(f.body).payload.length;
    },
    1000,
    small.length,
    durationMs,
  );
  // 100-byte MsgData (generic protobuf codec with schema validation)
  figures['msg100.msgdata.encode'] = measure(
    () => {
      sink += encodeFrame(MessageType.MsgData, {
        channel: 'chat',
        seq: 1,
        qos: 1,
        payload: small,
      }).length;
    },
    1,
    small.length,
    durationMs,
  );
  figures['msg100.msgdata.decode'] = measure(
    () => {
      for (const f of decoder.push(msgFrame))
        sink += (decodeFrameBody(f).message as { seq: number }).seq;
    },
    1,
    small.length,
    durationMs,
  );
  if (sink === -1) throw new Error('unreachable');
  return figures;
}

function print(ctx: BenchContext, figures: ProtocolFigures): void {
  for (const [name, r] of Object.entries(figures)) {
    ctx.figure(`protocol.${name}.msgs`, r.opsPerSec, 'msgs/s');
    ctx.figure(`protocol.${name}.throughput`, r.mbPerSec, 'MB/s');
  }
}

const bench: Benchmark = {
  name: 'protocol',
  description:
    'wire format: encode/decode of a 64 KiB MuxData frame and of 100-byte messages (MuxData fast path, MsgData generic codec)',
  run(ctx) {
    ctx.note('protocol: MB/s counts payload bytes (10^6/s); one thread, no I/O');
    ctx.note(
      'encode_header: header only, payload written separately (zero copy); encode_frame: one buffer with the payload copied',
    );
    ctx.note('decode: streaming frame decoder + body decode; decode_stream: 1000 frames per chunk');
    print(ctx, measureProtocol(ctx.quick ? 150 : 1500));
    return Promise.resolve();
  },
};

export default bench;
