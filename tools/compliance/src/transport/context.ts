// The shared context of the transport compliance cases.
import type { Connection, Stream } from '@detr/interface';
import type {
  ComplianceEndpoint,
  ComplianceEndpointOptions,
  TransportComplianceFactory,
} from './types.js';

export interface Pair {
  server: ComplianceEndpoint;
  client: ComplianceEndpoint;
  /** The dialer's connection. */
  conn: Connection;
  /** The listener's side of it. */
  accepted: Promise<Connection>;
}

/** What the case definitions share: the factory, helpers and settings of one suite run. */
export interface SuiteContext {
  readonly factory: TransportComplianceFactory;
  readonly bulkBytes: number;
  readonly maxGrowth: number;
  readonly timeout: number;
  /** Cleanups run after each case (newest first). */
  readonly cleanups: Array<() => Promise<void>>;
  /** A fresh endpoint, closed after the case. */
  readonly endpoint: (o?: ComplianceEndpointOptions) => Promise<ComplianceEndpoint>;
  /** A listening server endpoint, a client endpoint, and a connection between them. */
  readonly connect: (
    serverOptions?: ComplianceEndpointOptions,
    clientOptions?: ComplianceEndpointOptions,
    setup?: (server: ComplianceEndpoint) => void,
  ) => Promise<Pair>;
  /** An echo handler. */
  readonly echo: (s: Stream) => void;
  /** `value`, or a failure naming `what` when it is missing. */
  readonly got: <T>(value: T | undefined, what: string) => T;
}
