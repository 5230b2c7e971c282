// Two in-process byte streams connected back to back (a socket pair without a socket).
import { Duplex } from 'node:stream';

export function duplexPair(): [Duplex, Duplex] {
  const ends: { a?: Duplex; b?: Duplex } = {};
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        other().push(Buffer.from(chunk));
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
      destroy(err, cb) {
        const o = other();
        if (!o.destroyed) o.destroy();
        cb(err);
      },
    });
  const a = make(() => ends.b as Duplex);
  const b = make(() => ends.a as Duplex);
  ends.a = a;
  ends.b = b;
  return [a, b];
}
