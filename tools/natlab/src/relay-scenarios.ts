// The relay scenarios (`npm run natlab -- relay`, and the jest suite's lab run): a detr relay on
// the public segment with a 1 MiB circuit limit; a reservation at it from behind a NAT; a circuit
// through it; the upgrade of that circuit to a direct WebRTC connection where hole punching works
// (port-restricted ↔ port-restricted), none where it cannot (symmetric ↔ symmetric); and a client
// over the relay's byte limit cut off.
import { randomBytes } from 'node:crypto';
import { startAgent, type Agent } from './driver.js';
import type { Lab } from './lab.js';

/** Runs the scenarios in `lab`; resolves 0 when every one behaved, 1 otherwise. */
export async function relayScenarios(lab: Lab): Promise<number> {
  const common = {
    adminSeed: randomBytes(32).toString('hex'),
    networkId: randomBytes(32).toString('hex'),
    createdAtMs: Date.now(),
    iceServers: [
      { urls: `stun:${lab.turn.listen[0]}:${lab.turn.port}` },
      {
        urls: `turn:${lab.turn.listen[0]}:${lab.turn.port}`,
        restSecret: lab.turn.secret,
        restTtlSec: 3600,
      },
    ],
  };
  const started: Agent[] = [];
  const agent = async (name: string, extra: Record<string, unknown>): Promise<Agent> => {
    const a = await startAgent(lab, lab.host(name), 'node-agent.ts', {
      ...common,
      bindAddress: lab.host(name).address,
      ...extra,
    });
    started.push(a);
    return a;
  };
  const report: string[] = [];
  const line = (text: string): void => {
    report.push(text);
    process.stderr.write(`${text}\n`);
  };
  try {
    const relay = await agent('public0', { role: 'relay', circuitBytes: 1 << 20 });
    const relayAddress = `${String((relay.info.listen as string[])[0])}/p2p/${String(relay.info.peer)}`;
    line(`relay ${relayAddress} (circuit limit 1 MiB per direction)`);
    const reserved = async (a: Agent): Promise<string> => {
      for (let i = 0; i < 100; i++) {
        const s = (await a.call('status')) as { relayAddresses: string[] };
        if (s.relayAddresses.length > 0) return s.relayAddresses[0] as string;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${a.host.name} got no reservation`);
    };
    const scenario = async (
      title: string,
      target: string,
      dialer: string,
      extraDialer: Record<string, unknown>,
      call: string,
      args: Record<string, unknown>,
    ): Promise<unknown> => {
      const t = await agent(target, { role: 'client', relay: relayAddress });
      const address = await reserved(t);
      const d = await agent(dialer, { role: 'client', ...extraDialer });
      const r = await d.call(call, { address, ...args }, 60_000);
      line(
        `${title}: ${lab.host(dialer).kind} ${dialer} → ${lab.host(target).kind} ${target} via relay: ${JSON.stringify(r)}`,
      );
      if (process.env.NATLAB_DEBUG !== undefined) {
        process.stderr.write(
          `-- ${dialer} logs:\n${d.logs.slice(-20).join('\n')}\n-- ${target} logs:\n${t.logs.slice(-20).join('\n')}\n`,
        );
      }
      return r;
    };
    const up = (await scenario('upgrade', 'site4', 'site5', {}, 'dialCircuit', {})) as {
      upgraded?: boolean;
    };
    const stay = (await scenario('no direct path', 'site6', 'site7', {}, 'dialCircuit', {
      waitMs: 8000,
    })) as { upgraded?: boolean; relayedStillOpen?: boolean };
    const cut = (await scenario('relay limit', 'site2', 'site3', { holePunching: false }, 'flood', {
      bytes: 4 << 20,
    })) as { outcome?: string };
    const stats = await relay.call('relayStats');
    line(`relay stats: ${JSON.stringify(stats)}`);
    const ok =
      up.upgraded === true &&
      stay.upgraded === false &&
      stay.relayedStillOpen === true &&
      cut.outcome !== 'still open';
    console.log(report.join('\n'));
    return ok ? 0 : 1;
  } finally {
    await Promise.all(started.map((a) => a.stop()));
  }
}
