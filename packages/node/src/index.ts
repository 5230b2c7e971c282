/**
 * @packageDocumentation
 * @detr/node: the composed node: event-bus API, pub/sub, services, discovery, the `detr` CLI and
 * daemon.
 */
export type { DemoResult } from './demo.js';
export { runDemo } from './demo.js';
