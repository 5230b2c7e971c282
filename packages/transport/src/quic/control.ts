// The control stream of a QUIC connection (the first stream the dialer opened, after the hello):
// frames in (MuxPing, MuxPong, MuxGoAway only) and frames out, coalesced per tick into one native
// write, with a cap on what a remote that does not read can make us queue.
import type { Frame, MessageInitByType } from '@detr/protocol';
import { MessageType, ProtocolError, encodeFrame } from '@detr/protocol';
import type { NativeStream } from './binding.js';
import { readFrames } from './native-frames.js';

const CONTROL_TYPES = [MessageType.MuxPing, MessageType.MuxPong, MessageType.MuxGoAway];
/** Control bytes queued for a remote that does not read, before giving up on it. */
const MAX_QUEUED_BYTES = 1024 * 1024;

/** What the control stream reports. */
export interface ControlEvents {
  /** A valid frame; return false to stop reading. */
  onFrame(frame: Frame): boolean;
  /** The remote ended the control stream (FIN): only allowed after its GoAway. */
  onEnd(): void;
  /** A malformed frame arrived. */
  onMalformed(err: ProtocolError): void;
  /** The remote makes us queue too much without reading. */
  onOverflow(): void;
}

export class ControlChannel {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private writing = false;
  private closed = false;

  constructor(
    private readonly stream: NativeStream,
    private readonly rest: Uint8Array,
    private readonly version: number,
    private readonly events: ControlEvents,
  ) {}

  /** Starts reading frames. */
  start(): void {
    readFrames(
      this.stream,
      this.rest,
      { maxFrameBytes: 1024, versions: [this.version], types: CONTROL_TYPES },
      (f) => this.events.onFrame(f),
    ).then(
      () => this.events.onEnd(),
      (err: unknown) => {
        // A reset or a closed connection: the connection's own close handling reports it.
        if (err instanceof ProtocolError) this.events.onMalformed(err);
      },
    );
  }

  /** Queues a frame; frames of one tick leave in one write. */
  send<T extends MessageType>(type: T, message: MessageInitByType[T]): void {
    if (this.closed) return;
    const frame = encodeFrame(type, message, { version: this.version });
    this.queued += frame.length;
    if (this.queued > MAX_QUEUED_BYTES) {
      this.closed = true;
      this.events.onOverflow();
      return;
    }
    this.queue.push(frame);
    if (!this.writing) {
      this.writing = true;
      queueMicrotask(() => void this.flush());
    }
  }

  /** Stops sending. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const frames = this.queue;
      this.queue = [];
      const data = frames.length === 1 ? (frames[0] as Uint8Array) : Buffer.concat(frames);
      try {
        await this.stream.write(data);
      } catch {
        break;
      }
      this.queued -= data.length;
    }
    this.writing = false;
  }
}
