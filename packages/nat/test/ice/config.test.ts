import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { parseIceServers, parseIceUrl, turnRestCredentials } from '../../src/ice/config.js';

describe('parseIceUrl', () => {
  it('parses RFC 7064/7065 forms with default ports', () => {
    expect(parseIceUrl('stun:203.0.113.10')).toEqual({
      scheme: 'stun',
      host: '203.0.113.10',
      port: 3478,
      transport: 'udp',
    });
    expect(parseIceUrl('turn:turn.example.org:3479?transport=tcp')).toEqual({
      scheme: 'turn',
      host: 'turn.example.org',
      port: 3479,
      transport: 'tcp',
    });
    expect(parseIceUrl('turns:[2001:db8::1]')).toEqual({
      scheme: 'turns',
      host: '2001:db8::1',
      port: 5349,
      transport: 'tcp',
    });
  });

  it('rejects malformed URLs', () => {
    for (const bad of [
      'http://x',
      'stun:',
      'stun:a:0',
      'stun:a:70000',
      'stun:a?transport=udp',
      'turn:a b',
      'turn:-a',
      'stun://x',
    ]) {
      expect(() => parseIceUrl(bad)).toThrow(TypeError);
    }
  });
});

describe('TURN REST credentials', () => {
  it('follows the TURN REST API: username "<expiry>:<user>", password base64 HMAC-SHA1', () => {
    const c = turnRestCredentials('s3cret', 'alice', 3600, 1_700_000_000_000);
    expect(c.username).toBe('1700003600:alice');
    expect(c.password).toBe(
      createHmac('sha1', 's3cret').update('1700003600:alice').digest('base64'),
    );
  });
});

describe('parseIceServers', () => {
  it('splits STUN (direct stage) from TURN (relay stage) and derives fresh REST credentials', () => {
    const ice = parseIceServers([
      { urls: 'stun:203.0.113.10' },
      {
        urls: ['turn:203.0.113.10', 'turn:203.0.113.12?transport=tcp'],
        restSecret: 'k',
        restUser: 'n1',
        restTtlSec: 60,
      },
      { urls: 'turns:turn.example.org', username: 'u', credential: 'p' },
    ]);
    expect(ice.hasTurn).toBe(true);
    expect(ice.direct()).toEqual([{ hostname: '203.0.113.10', port: 3478 }]);
    expect(ice.stunServers).toEqual([{ host: '203.0.113.10', port: 3478 }]);
    const relay = ice.relay(1_000_000);
    expect(relay).toHaveLength(3);
    expect(relay[0]).toMatchObject({
      hostname: '203.0.113.10',
      port: 3478,
      relayType: 'TurnUdp',
      username: '1060:n1',
    });
    expect(relay[1]).toMatchObject({ hostname: '203.0.113.12', relayType: 'TurnTcp' });
    expect(relay[2]).toMatchObject({
      hostname: 'turn.example.org',
      port: 5349,
      relayType: 'TurnTls',
      username: 'u',
      password: 'p',
    });
    expect(ice.relay(2_000_000)[0]?.username).toBe('2060:n1');
  });

  it('uses a UDP TURN server as a STUN server when no STUN server is configured', () => {
    const ice = parseIceServers([
      { urls: ['turn:203.0.113.10', 'turn:203.0.113.12'], username: 'u', credential: 'p' },
    ]);
    expect(ice.stunServers).toEqual([
      { host: '203.0.113.10', port: 3478 },
      { host: '203.0.113.12', port: 3478 },
    ]);
    expect(ice.direct()).toEqual([{ hostname: '203.0.113.10', port: 3478 }]);
  });

  it('refuses TURN without credentials, or with both kinds', () => {
    expect(() => parseIceServers([{ urls: 'turn:a' }])).toThrow(TypeError);
    expect(() => parseIceServers([{ urls: 'turn:a', username: 'u' }])).toThrow(TypeError);
    expect(() =>
      parseIceServers([{ urls: 'turn:a', username: 'u', credential: 'p', restSecret: 's' }]),
    ).toThrow(TypeError);
    expect(() => parseIceServers([{ urls: [] }])).toThrow(TypeError);
    expect(parseIceServers([]).hasTurn).toBe(false);
  });
});
