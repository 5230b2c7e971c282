// A mutation fuzzer for every decoder of @detr/protocol. Seeds are valid encodings (generated from
// the schema); each execution stacks 1-4 random mutations (bit flips, interesting bytes, inserted /
// deleted / duplicated ranges, truncation, splices with another seed, oversized varints) and
// feeds the result to one decoder. A failure is any exception that is not a ProtocolError, a
// decoded value that the encoder refuses or that does not decode to itself again, or a streaming
// decoder holding more than one maximum frame. Deterministic for a given seed.
import type { Rng } from '@detr/interface';
import { createSeededRng } from '@detr/interface';
import fc from 'fast-check';
import {
  ProtocolError,
  codecForName,
  codecForType,
  createFrameDecoder,
  decodeFrame,
  decodeMuxData,
  encodeDataFrame,
  encodeFrame,
} from '../src/index.js';
import type { MessageCodec } from '../src/index.js';
import { MESSAGE_NAMES, messageArb } from '../test/fixtures/arbitraries.js';
import { SAMPLES } from '../test/fixtures/samples.js';

export interface FuzzOptions {
  /** Total executions, spread round-robin over the targets. */
  readonly executions: number;
  /** Seed of the mutation sequence and of the seed corpus. */
  readonly seed: number;
  /** Stop early after this long (the run is then reported as cut short). */
  readonly maxMs?: number;
  /** Only targets whose name contains this. */
  readonly filter?: string;
  /** Replaces the package's targets (used to test the fuzzer itself). */
  readonly targets?: readonly FuzzTarget[];
  /** Called about every `progressEvery` executions. */
  readonly onProgress?: (done: number) => void;
  readonly progressEvery?: number;
}

export interface FuzzFailure {
  readonly target: string;
  readonly input: string;
  readonly error: string;
}

export interface FuzzReport {
  readonly executions: number;
  readonly failures: number;
  readonly durationMs: number;
  readonly cutShort: boolean;
  readonly targets: number;
  /** Executions per target. */
  readonly perTarget: Readonly<Record<string, number>>;
  /** Outcome counts: `ok` or the ProtocolError code. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Slowest single execution, in microseconds (includes any GC pause that hit it). */
  readonly slowestUs: number;
  /** Target and input (hex) of the slowest execution. */
  readonly slowest: { readonly target: string; readonly input: string } | undefined;
  /** Largest heap seen (sampled, garbage included), in MiB. */
  readonly maxHeapMiB: number;
  /**
   * Live heap after a full GC at each progress point, in MiB (only when node runs with
   * `--expose-gc`): flat when decoders keep nothing.
   */
  readonly heapAfterGcMiB: readonly number[];
  /** The first failures (at most 20). */
  readonly examples: readonly FuzzFailure[];
}

export interface FuzzTarget {
  readonly name: string;
  readonly seeds: readonly Uint8Array[];
  /** Returns an outcome label; throws on a failure. */
  run(input: Uint8Array, rng: Rng): string;
}

class FuzzFailureError extends Error {}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(codec: MessageCodec<unknown, unknown>, value: unknown): void {
  let again: Uint8Array;
  try {
    again = codec.encode(value);
  } catch (err) {
    throw new FuzzFailureError(`decoded value refused by the encoder: ${String(err)}`);
  }
  const second = codec.encode(codec.decode(again));
  if (hex(second) !== hex(again))
    throw new FuzzFailureError('decode(encode(decoded)) is not stable');
}

function messageTarget(name: string, seed: number): FuzzTarget {
  const codec = codecForName(name);
  const seeds = fc.sample(messageArb(name), { numRuns: 48, seed }).map((v) => codec.encode(v));
  return {
    name: `message:${name}`,
    seeds,
    run(input) {
      const value = codec.decode(input);
      roundTrip(codec, value);
      return 'ok';
    },
  };
}

const MAX_FRAME = 4096;

function frameSeeds(): Uint8Array[] {
  const frames = SAMPLES.map((s) => encodeFrame(s.type, s.value));
  const pairs = frames.map((f, i) =>
    Uint8Array.from([...f, ...frames[(i * 7 + 3) % frames.length]!]),
  );
  return [...frames, ...pairs, encodeDataFrame(1, new Uint8Array(3000).fill(7))];
}

function frameTarget(): FuzzTarget {
  return {
    name: 'frame:decodeFrame+body',
    seeds: frameSeeds(),
    run(input) {
      const frame = decodeFrame(input, { maxFrameBytes: MAX_FRAME });
      const codec = codecForType(frame.type);
      roundTrip(codec, codec.decode(frame.body));
      return 'ok';
    },
  };
}

function streamTarget(): FuzzTarget {
  return {
    name: 'frame:streaming',
    seeds: frameSeeds(),
    run(input, rng) {
      const decoder = createFrameDecoder({ maxFrameBytes: MAX_FRAME });
      let pos = 0;
      while (pos < input.length) {
        const n = 1 + rng.int(Math.min(64, input.length - pos));
        const frames = decoder.push(input.subarray(pos, pos + n));
        pos += n;
        if (decoder.bufferedBytes > MAX_FRAME + 5) {
          throw new FuzzFailureError(`decoder holds ${decoder.bufferedBytes} bytes`);
        }
        for (const f of frames) codecForType(f.type).decode(f.body);
      }
      decoder.end();
      return 'ok';
    },
  };
}

function muxDataTarget(seed: number): FuzzTarget {
  const codec = codecForName('MuxData');
  const seeds = fc.sample(messageArb('MuxData'), { numRuns: 32, seed }).map((v) => codec.encode(v));
  return {
    name: 'mux:decodeMuxData',
    seeds,
    run(input) {
      let fast: unknown;
      let fastErr: ProtocolError | undefined;
      try {
        fast = decodeMuxData(input);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        fastErr = err;
      }
      let slow: unknown;
      let slowErr: ProtocolError | undefined;
      try {
        slow = codec.decode(input);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        slowErr = err;
      }
      if (fastErr?.code !== slowErr?.code) {
        throw new FuzzFailureError(
          `decodeMuxData ${fastErr?.code ?? 'ok'} vs MuxData.decode ${slowErr?.code ?? 'ok'}`,
        );
      }
      if (fastErr !== undefined) throw fastErr;
      const a = fast as { streamId: number; payload: Uint8Array };
      const b = slow as { streamId: number; payload: Uint8Array };
      if (a.streamId !== b.streamId || hex(a.payload) !== hex(b.payload)) {
        throw new FuzzFailureError('decodeMuxData and MuxData.decode disagree');
      }
      return 'ok';
    },
  };
}

/** Every decoder of the package, with its seed corpus. */
export function fuzzTargets(seed: number): FuzzTarget[] {
  return [
    ...MESSAGE_NAMES.map((n) => messageTarget(n, seed)),
    frameTarget(),
    streamTarget(),
    muxDataTarget(seed),
  ];
}

const INTERESTING = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x12, 0x1a, 0x7f, 0x80, 0x81, 0xfe, 0xff];
const BIG_VARINTS = [
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x80, 0x80, 0x80, 0x80, 0x10],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  [0x80, 0x80, 0x40],
];

function mutateOnce(b: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array {
  const n = b.length;
  const at = (extra = 0): number => rng.int(n + extra);
  switch (rng.int(10)) {
    case 0: {
      if (n === 0) return Uint8Array.of(rng.int(256));
      const c = Uint8Array.from(b);
      const i = at();
      c[i] = c[i]! ^ (1 << rng.int(8));
      return c;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(INTERESTING[rng.int(INTERESTING.length)]!);
      const c = Uint8Array.from(b);
      c[at()] = INTERESTING[rng.int(INTERESTING.length)]!;
      return c;
    }
    case 2: {
      const i = at(1);
      const ins = rng.bytes(1 + rng.int(8));
      return Uint8Array.from([...b.subarray(0, i), ...ins, ...b.subarray(i)]);
    }
    case 3: {
      const i = at(1);
      const k = 1 + rng.int(Math.max(1, Math.min(16, n)));
      return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + k)]);
    }
    case 4:
      return b.slice(0, at(1));
    case 5: {
      const i = at(1);
      const j = at(1);
      const [x, y] = i <= j ? [i, j] : [j, i];
      return Uint8Array.from([...b.subarray(0, y), ...b.subarray(x, y), ...b.subarray(y)]);
    }
    case 6: {
      const i = at(1);
      const j = rng.int(other.length + 1);
      return Uint8Array.from([...b.subarray(0, i), ...other.subarray(j)]);
    }
    case 7: {
      const i = at(1);
      const v = BIG_VARINTS[rng.int(BIG_VARINTS.length)]!;
      return Uint8Array.from([...b.subarray(0, i), ...v, ...b.subarray(i + rng.int(3))]);
    }
    case 8: {
      // Change a byte by a small amount (lengths off by one).
      if (n === 0) return b;
      const c = Uint8Array.from(b);
      const i = at();
      c[i] = (c[i]! + (rng.int(2) === 0 ? 1 : 255)) & 0xff;
      return c;
    }
    default:
      return rng.bytes(rng.int(48));
  }
}

/**
 * Runs the fuzzer.
 *
 * @example
 * ```ts
 * const report = runFuzz({ executions: 1_000_000, seed: 1 })
 * ```
 */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const rng = createSeededRng(options.seed);
  const targets = (options.targets ?? fuzzTargets(options.seed)).filter(
    (t) => options.filter === undefined || t.name.includes(options.filter),
  );
  if (targets.length === 0) throw new RangeError(`no fuzz target matches ${options.filter}`);
  const perTarget: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const examples: FuzzFailure[] = [];
  let failures = 0;
  let slowestUs = 0;
  let slowest: FuzzReport['slowest'];
  let maxHeap = 0;
  let cutShort = false;
  const heapAfterGc: number[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  const deadline = options.maxMs === undefined ? Infinity : started + options.maxMs;
  const progressEvery = options.progressEvery ?? 100_000;
  let done = 0;
  for (; done < options.executions; done++) {
    if ((done & 1023) === 0) {
      if (performance.now() > deadline) {
        cutShort = true;
        break;
      }
      maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
    }
    if (done > 0 && done % progressEvery === 0) {
      if (gc !== undefined) {
        gc();
        heapAfterGc.push(process.memoryUsage().heapUsed / 1024 / 1024);
      }
      options.onProgress?.(done);
    }
    const target = targets[done % targets.length]!;
    const seedInput = target.seeds[rng.int(target.seeds.length)]!;
    let input = seedInput;
    const rounds = 1 + rng.int(4);
    for (let r = 0; r < rounds; r++)
      input = mutateOnce(input, rng, target.seeds[rng.int(target.seeds.length)]!);
    perTarget[target.name] = (perTarget[target.name] ?? 0) + 1;
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = target.run(input, rng);
    } catch (err) {
      if (err instanceof ProtocolError) {
        outcome = err.code;
      } else {
        outcome = 'FAILURE';
        failures++;
        if (examples.length < 20) {
          examples.push({
            target: target.name,
            input: hex(input),
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          });
        }
      }
    }
    const us = (performance.now() - t0) * 1000;
    if (us > slowestUs) {
      slowestUs = us;
      slowest = { target: target.name, input: hex(input) };
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  return {
    executions: done,
    failures,
    durationMs: performance.now() - started,
    cutShort,
    targets: targets.length,
    perTarget,
    outcomes,
    slowestUs,
    slowest,
    maxHeapMiB: maxHeap / 1024 / 1024,
    heapAfterGcMiB: heapAfterGc,
    examples,
  };
}
