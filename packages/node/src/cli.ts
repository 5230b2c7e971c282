// The `detr` command line. Today it has one command, `demo`; the daemon and the rest arrive
// with issue 10.
import { runDemo } from './demo.js';

const [command = 'demo'] = process.argv.slice(2);
if (command !== 'demo') {
  console.error(`unknown command ${JSON.stringify(command)}; available: demo`);
  process.exit(2);
}
console.log(
  'detr demo: two in-process endpoints on 127.0.0.1 exchanging one message over plain TCP.',
);
console.log(
  '(This is the end-to-end path that exists so far; the full demo network arrives with the node package.)',
);
const result = await runDemo((line) => console.log(`  ${line}`));
console.log(result.message === 'ack: hello from endpoint A' ? 'demo: ok' : 'demo: FAILED');
process.exit(result.message === 'ack: hello from endpoint A' ? 0 : 1);
