// Helpers the compliance suites use; exported so implementations' own tests can use them too.
import type { Connection, Stream } from '@detr/interface';

/**
 * Reads a stream to its end without destroying it (a `for await` loop would destroy a duplex at
 * the end, writable side included). Rejects with the stream's error.
 */
export function readAll(stream: Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => {
      if (!stream.readableEnded) reject(stream.errored ?? new Error('closed before its end'));
    });
  });
}

/** The error the stream fails with (resolves at once if it already failed). */
export function streamError(stream: Stream, timeoutMs = 10_000): Promise<Error> {
  return within(
    new Promise((resolve) => {
      if (stream.errored !== null) resolve(stream.errored);
      else stream.once('error', resolve);
    }),
    timeoutMs,
    'stream error',
  );
}

/** How the connection closed: its error, or undefined for a clean close. */
export function closeOf(conn: Connection, timeoutMs = 10_000): Promise<Error | undefined> {
  return within(new Promise((resolve) => conn.onClose(resolve)), timeoutMs, 'connection close');
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: nothing after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it holds; rejects after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not true after ${timeoutMs} ms`);
    await delay(everyMs);
  }
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `chunk` and waits for `'drain'` when the stream asks for it. */
export async function writeWithBackpressure(stream: Stream, chunk: Uint8Array): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      stream.off('drain', done);
      reject(stream.errored ?? new Error('stream closed while writing'));
    };
    stream.once('drain', done);
    stream.once('close', closed);
  });
}
