import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../src/errors.js';
import { opt, parseConfig, renderConfig, resolveConfig } from '../src/config/config.js';
import { SCHEMA, SECTIONS } from '../src/config/schema.js';

describe('config', () => {
  it('has the seed 002 defaults', () => {
    const c = resolveConfig();
    expect(opt(c, 'transport', 'connection_timeout_ms')).toBe(30_000);
    expect(opt(c, 'fluent', 'max_queue_messages')).toBe(10_000);
    expect(opt(c, 'fluent', 'priority_levels')).toBe(5);
    expect(opt(c, 'fluent', 'peer_messages_per_sec')).toBe(1000);
    expect(opt(c, 'dpeers', 'max_peers')).toBe(100);
    expect(opt(c, 'dpeers', 'reputation_threshold')).toBe(50);
  });

  it('documents every option and has one section per package', () => {
    expect([...SECTIONS]).toEqual([
      'transport',
      'aecomms',
      'fluent',
      'dpeers',
      'stored',
      'dht',
      'nat',
      'node',
    ]);
    for (const s of SECTIONS) for (const o of SCHEMA[s]) expect(o.doc.length).toBeGreaterThan(10);
  });

  it('round-trips the rendered file', () => {
    const text = renderConfig({
      fluent: { max_queue_messages: 42 },
      dht: { bootstrap: ['/ip4/127.0.0.1/tcp/1'] },
    });
    const c = parseConfig(text);
    expect(opt(c, 'fluent', 'max_queue_messages')).toBe(42);
    expect(opt<readonly string[]>(c, 'dht', 'bootstrap')).toEqual(['/ip4/127.0.0.1/tcp/1']);
  });

  it.each([
    ['[fluent]\nmax_queue_messages = -1\n', 'fluent.max_queue_messages', 2],
    ['[dpeers]\n\n\nmax_peers = "many"\n', 'dpeers.max_peers', 4],
    ['[nat]\nstun_servers = ["http://x"]\n', 'nat.stun_servers', 2],
    ['[transport]\nlisten = ["nowhere"]\n', 'transport.listen', 2],
    ['[node]\nmdns = 1\n', 'node.mdns', 2],
    ['[node]\nlog_level = "loud"\n', 'node.log_level', 2],
    ['[node]\nunknown_thing = 1\n', 'node.unknown_thing', 2],
    ['\n[bogus]\nx = 1\n', 'bogus', 2],
    ['[fluent]\npriority_levels = 3\n', 'fluent.priority_levels', 2],
    ['[node]\ngossip_d = 3\ngossip_d_lo = 5\n', 'node.gossip_d_lo', 3],
    ['[node]\nnetwork = "xyz"\n', 'node.network', 2],
  ])('names the bad key and its line: %j', (text, key, line) => {
    const err = (() => {
      try {
        parseConfig(text, 'detr.toml');
      } catch (e) {
        return e;
      }
      return undefined;
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.key).toBe(key);
    expect(err.line).toBe(line);
    expect(err.message).toContain(`detr.toml:${line}`);
  });

  it('reports syntax errors with their line', () => {
    const err = (() => {
      try {
        parseConfig('[node]\nmdns = \n');
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.key).toBe('(syntax)');
    expect(err!.line).toBe(2);
  });
});
