// The multiplexer the lab's agents run: @detr/transport's, through @detr/nat's factory.
import type { PeerReporter, StreamRegistry } from '@detr/interface';
import { createMuxFactory, type MuxFactory } from '@detr/nat';

export function labMux(registry: StreamRegistry, reporter: PeerReporter): MuxFactory {
  return createMuxFactory({ registry, reporter });
}
