// Golden hex fixtures: the exact frame bytes of every message type and oneof variant. A change of
// the wire format fails here until test/fixtures/golden.json is regenerated on purpose:
//   UPDATE_GOLDEN=1 NODE_OPTIONS=--experimental-vm-modules npx jest golden
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCHEMA, codecForType, decodeFrame, decodeFrameBody, encodeFrame } from '../src/index.js';
import { SAMPLES } from './fixtures/samples.js';

const file = fileURLToPath(new URL('./fixtures/golden.json', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const encoded = Object.fromEntries(
  SAMPLES.map((s) => [s.label, hex(encodeFrame(s.type, s.value))]),
);
if (process.env['UPDATE_GOLDEN'] === '1')
  writeFileSync(file, `${JSON.stringify(encoded, null, 2)}\n`);
const golden = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;

describe('golden frames', () => {
  it('has exactly one fixture per sample', () => {
    expect(Object.keys(golden).sort()).toEqual(SAMPLES.map((s) => s.label).sort());
  });

  it('covers every frame type and every oneof member', () => {
    const types = new Set(SAMPLES.map((s) => s.type));
    for (const m of Object.values(SCHEMA)) {
      if (m.typeCode !== undefined)
        expect([m.name, types.has(m.typeCode as never)]).toEqual([m.name, true]);
    }
    for (const m of Object.values(SCHEMA).filter(
      (x) => x.typeCode !== undefined && x.oneofs.length > 0,
    )) {
      for (const f of m.fields.filter((x) => x.oneof !== undefined)) {
        const covered = SAMPLES.some(
          (s) =>
            s.type === m.typeCode && (s.value as Record<string, unknown>)[f.name] !== undefined,
        );
        expect([`${m.name}.${f.name}`, covered]).toEqual([`${m.name}.${f.name}`, true]);
      }
    }
  });

  for (const sample of SAMPLES) {
    it(`${sample.label} encodes to its fixture and decodes back`, () => {
      expect(encoded[sample.label]).toBe(golden[sample.label]);
      const frame = decodeFrame(Buffer.from(golden[sample.label]!, 'hex'));
      expect(frame.type).toBe(sample.type);
      expect(frame.version).toBe(1);
      const { message } = decodeFrameBody(frame);
      expect(message).toMatchObject(sample.value);
      // Decoded messages re-encode to the same bytes.
      expect(hex(codecForType(sample.type).encode(message))).toBe(hex(frame.body));
    });
  }
});

describe('README', () => {
  it('lists every frame type code', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const m of Object.values(SCHEMA)) {
      if (m.typeCode !== undefined) expect(readme).toContain(`| ${m.typeCode} | \`${m.name}\` |`);
    }
  });
});
