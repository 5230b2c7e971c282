import { describe, expect, it } from '@jest/globals';
import { parseAddress } from '@detr/interface';
import { ipGroup } from '../src/index.js';
import { expandIPv6 } from '../src/subnet.js';

describe('ipGroup', () => {
  it('groups IPv4 by /24', () => {
    expect(ipGroup(parseAddress('/ip4/203.0.113.77/tcp/1'))).toEqual({
      ip: '203.0.113.77',
      subnet: '203.0.113/24',
      loopback: false,
    });
    expect(ipGroup(parseAddress('/ip4/127.0.0.1/tcp/1'))?.loopback).toBe(true);
  });

  it('groups IPv6 by /48 whatever the spelling', () => {
    const forms = [
      '2001:db8:1:2::3',
      '2001:0DB8:0001:0002:0000:0000:0000:0003',
      '2001:db8:1:2:0:0:0:3',
    ];
    const groups = forms.map((h) => ipGroup(parseAddress(`/ip6/${h}/tcp/1`)));
    for (const g of groups) expect(g).toEqual(groups[0]);
    expect(groups[0]).toEqual({
      ip: '2001:0db8:0001:0002:0000:0000:0000:0003',
      subnet: '2001:0db8:0001/48',
      loopback: false,
    });
    expect(ipGroup(parseAddress('/ip6/::1/tcp/1'))?.loopback).toBe(true);
    expect(ipGroup(parseAddress('/ip6/::/tcp/1'))?.subnet).toBe('0000:0000:0000/48');
  });

  it('treats IPv4-mapped IPv6 as IPv4, and has no group for memory or relayed addresses', () => {
    expect(ipGroup(parseAddress('/ip6/::ffff:198.51.100.7/tcp/1'))).toEqual({
      ip: '198.51.100.7',
      subnet: '198.51.100/24',
      loopback: false,
    });
    expect(ipGroup(parseAddress('/memory/node1'))).toBeUndefined();
    expect(
      ipGroup(parseAddress('/ip4/203.0.113.1/tcp/1/p2p/relaypeer1/p2p-circuit/p2p/targetpeer1')),
    ).toBeUndefined();
  });

  it('expands IPv6 with an embedded IPv4 tail', () => {
    expect(expandIPv6('64:ff9b::192.0.2.33')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]);
    expect(expandIPv6('not-an-ip')).toBeUndefined();
  });
});
