// A raw node-datachannel peer, run by the lab driver inside a host namespace. It validates the lab
// itself (no detr code): offer/answer and trickled candidates go through the driver; the dialer
// opens a data channel, sends "ping", and reports the selected pair and the time to the "pong".
import { PeerConnection, cleanup, initLogger, type DataChannel } from 'node-datachannel';
import { readLines, writeLine, type AgentIceServer, type AttemptResult } from './proto.js';

interface Attempt {
  pc: PeerConnection;
  channels: DataChannel[];
  timer?: NodeJS.Timeout;
  done: boolean;
}

if (process.env.NATLAB_RTC_LOG !== undefined) {
  initLogger(process.env.NATLAB_RTC_LOG as 'Debug', (level, message) =>
    process.stderr.write(`[${level}] ${message}\n`),
  );
}

const attempts = new Map<number, Attempt>();
let bindAddress = '';
let iceServers: AgentIceServer[] = [];

const emit = (v: unknown): void => writeLine(process.stdout, v);

function pathOf(pc: PeerConnection): Pick<AttemptResult, 'path' | 'local' | 'remote'> {
  const pair = pc.getSelectedCandidatePair();
  if (pair === null) return {};
  const relayed = pair.local.type === 'relay' || pair.remote.type === 'relay';
  return {
    path: relayed ? 'relayed' : 'direct',
    local: `${pair.local.type} ${pair.local.address}:${pair.local.port}`,
    remote: `${pair.remote.type} ${pair.remote.address}:${pair.remote.port}`,
  };
}

function finish(id: number, result: AttemptResult): void {
  const a = attempts.get(id);
  if (a === undefined || a.done) return;
  a.done = true;
  if (a.timer !== undefined) clearTimeout(a.timer);
  emit({ ev: 'result', id, result });
}

function close(id: number): void {
  const a = attempts.get(id);
  if (a === undefined) return;
  attempts.delete(id);
  if (a.timer !== undefined) clearTimeout(a.timer);
  for (const dc of a.channels) dc.close();
  a.pc.close();
}

function start(id: number, dialer: boolean, policy: 'all' | 'relay', timeoutMs: number): void {
  const t0 = performance.now();
  const pc = new PeerConnection(`${dialer ? 'dial' : 'accept'}-${id}`, {
    iceServers,
    bindAddress,
    iceTransportPolicy: policy,
  });
  const a: Attempt = { pc, channels: [], done: false };
  attempts.set(id, a);
  a.timer = setTimeout(
    () => finish(id, { ok: false, error: `timeout (ice ${pc.iceState()})`, ...pathOf(pc) }),
    timeoutMs,
  );
  pc.onLocalDescription((sdp, type) => emit({ ev: 'signal', id, data: { sdp, type } }));
  pc.onLocalCandidate((candidate, mid) => emit({ ev: 'signal', id, data: { candidate, mid } }));
  pc.onStateChange((state) => {
    if (state === 'failed') finish(id, { ok: false, error: 'ice failed', ...pathOf(pc) });
  });
  if (dialer) {
    const dc = pc.createDataChannel('probe');
    a.channels.push(dc);
    dc.onOpen(() => dc.sendMessage('ping'));
    dc.onMessage((msg) => {
      if (msg === 'pong') finish(id, { ok: true, ttfbMs: performance.now() - t0, ...pathOf(pc) });
    });
  } else {
    pc.onDataChannel((dc) => {
      a.channels.push(dc);
      dc.onMessage((msg) => {
        if (msg === 'ping') {
          dc.sendMessage('pong');
          finish(id, { ok: true, ttfbMs: performance.now() - t0, ...pathOf(pc) });
        }
      });
    });
  }
}

readLines(process.stdin, (cmd) => {
  const id = Number(cmd.id);
  try {
    switch (cmd.op) {
      case 'init':
        bindAddress = String(cmd.bindAddress);
        iceServers = cmd.iceServers as AgentIceServer[];
        emit({ ev: 'ready' });
        break;
      case 'dial':
      case 'accept':
        start(
          id,
          cmd.op === 'dial',
          cmd.policy === 'relay' ? 'relay' : 'all',
          Number(cmd.timeoutMs),
        );
        break;
      case 'signal': {
        const a = attempts.get(id);
        const d = cmd.data as { sdp?: string; type?: string; candidate?: string; mid?: string };
        if (a === undefined) break;
        if (d.sdp !== undefined) a.pc.setRemoteDescription(d.sdp, d.type as 'offer' | 'answer');
        else if (d.candidate !== undefined) a.pc.addRemoteCandidate(d.candidate, d.mid ?? '0');
        break;
      }
      case 'close':
        close(id);
        break;
      case 'exit':
        for (const key of [...attempts.keys()]) close(key);
        cleanup();
        process.exit(0);
    }
  } catch (err) {
    emit({ ev: 'log', msg: `${String(cmd.op)} ${id}: ${(err as Error).message}` });
  }
});
process.stdin.on('end', () => {
  for (const key of [...attempts.keys()]) close(key);
  cleanup();
  process.exit(0);
});
