// The line protocol between the lab driver and the peer agents it runs inside host namespaces:
// one JSON object per line on the agent's stdin (commands) and stdout (events).
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** ICE server as given to an agent (node-datachannel's `IceServer` shape, or a URL string). */
export interface AgentIceServer {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  relayType?: 'TurnUdp' | 'TurnTcp' | 'TurnTls';
}

export type Command =
  | { op: 'init'; bindAddress: string; iceServers: AgentIceServer[]; [k: string]: unknown }
  | { op: 'dial'; id: number; policy: 'all' | 'relay'; timeoutMs: number; [k: string]: unknown }
  | { op: 'accept'; id: number; policy: 'all' | 'relay'; timeoutMs: number; [k: string]: unknown }
  | { op: 'signal'; id: number; data: unknown }
  | { op: 'close'; id: number }
  | { op: 'call'; id: number; name: string; args?: unknown }
  | { op: 'exit' };

export interface AttemptResult {
  ok: boolean;
  /** `direct` (host/srflx/prflx pair) or `relayed` (a TURN candidate on either side). */
  path?: 'direct' | 'relayed';
  local?: string;
  remote?: string;
  /** Dial start → first application byte back from the remote. */
  ttfbMs?: number;
  error?: string;
  [k: string]: unknown;
}

export type Event =
  | { ev: 'ready'; [k: string]: unknown }
  | { ev: 'signal'; id: number; data: unknown }
  | { ev: 'result'; id: number; result: AttemptResult }
  | { ev: 'reply'; id: number; ok: boolean; value?: unknown; error?: string }
  | { ev: 'log'; msg: string };

/** Reads JSON lines from `input`, skipping lines that are not JSON objects. */
export function readLines(input: Readable, onObject: (o: Record<string, unknown>) => void): void {
  const rl = createInterface({ input, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.length === 0 || line.length > 1_000_000) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      onObject(v as Record<string, unknown>);
    }
  });
}

/** Writes one JSON line. */
export function writeLine(output: Writable, value: unknown): void {
  output.write(`${JSON.stringify(value)}\n`);
}
