// Child-process entry of `inChild`: `transport-child.ts <module path> <export> <n>`; prints
// `RESULT <number>`.
import './shims.js';
import { pathToFileURL } from 'node:url';

const [file, fn, n] = process.argv.slice(2);
if (file === undefined || fn === undefined || n === undefined) {
  console.error('usage: transport-child.ts <module> <export> <n>');
  process.exit(2);
}
const mod = (await import(pathToFileURL(file).href)) as Record<
  string,
  (n: number) => Promise<number>
>;
const f = mod[fn];
if (typeof f !== 'function') {
  console.error(`${file} exports no function ${fn}`);
  process.exit(2);
}
const value = await f(Number(n));
process.stdout.write(`RESULT ${value}\n`);
process.exit(0);
