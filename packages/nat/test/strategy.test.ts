import { describe, expect, it } from '@jest/globals';
import { planStages, predictPath, type NatProfile } from '../src/strategy.js';

const open: NatProfile = { mapping: 'none', filtering: 'endpoint-independent' };
const fullCone: NatProfile = { mapping: 'endpoint-independent', filtering: 'endpoint-independent' };
const portRestricted: NatProfile = {
  mapping: 'endpoint-independent',
  filtering: 'address-and-port-dependent',
};
const restricted: NatProfile = { mapping: 'endpoint-independent', filtering: 'address-dependent' };
const symmetric: NatProfile = {
  mapping: 'endpoint-dependent',
  filtering: 'address-and-port-dependent',
};
const unknown: NatProfile = { mapping: 'unknown', filtering: 'unknown' };

describe('predictPath', () => {
  it('predicts the four lab kinds as theory says (symmetric against a filtering side: relay)', () => {
    const kinds = { open, fullCone, portRestricted, symmetric };
    const table = Object.fromEntries(
      Object.entries(kinds).map(([a, pa]) => [
        a,
        Object.fromEntries(Object.entries(kinds).map(([b, pb]) => [b, predictPath(pa, pb)])),
      ]),
    );
    expect(table).toEqual({
      open: { open: 'direct', fullCone: 'direct', portRestricted: 'direct', symmetric: 'direct' },
      fullCone: {
        open: 'direct',
        fullCone: 'direct',
        portRestricted: 'direct',
        symmetric: 'direct',
      },
      portRestricted: {
        open: 'direct',
        fullCone: 'direct',
        portRestricted: 'direct',
        symmetric: 'relay',
      },
      symmetric: {
        open: 'direct',
        fullCone: 'direct',
        portRestricted: 'relay',
        symmetric: 'relay',
      },
    });
  });

  it('lets an address-restricted cone reach a symmetric NAT, and AutoNAT-public peers anyone', () => {
    expect(predictPath(symmetric, restricted)).toBe('direct');
    expect(predictPath(symmetric, { ...symmetric, reachability: 'public' })).toBe('direct');
  });

  it('says unknown when it cannot tell', () => {
    expect(predictPath(unknown, portRestricted)).toBe('unknown');
    expect(predictPath(symmetric, { mapping: 'endpoint-independent', filtering: 'unknown' })).toBe(
      'unknown',
    );
    expect(predictPath(unknown, open)).toBe('direct');
  });
});

describe('planStages', () => {
  const o = { hasTurn: true, directTimeoutMs: 2500, lastTimeoutMs: 15_000 };
  it('goes direct first, then TURN; straight to TURN when direct cannot work', () => {
    expect(planStages('direct', o)).toEqual([
      { stage: 'direct', timeoutMs: 2500 },
      { stage: 'relay', timeoutMs: 15_000 },
    ]);
    expect(planStages('unknown', o)).toEqual([
      { stage: 'direct', timeoutMs: 2500 },
      { stage: 'relay', timeoutMs: 15_000 },
    ]);
    expect(planStages('relay', o)).toEqual([{ stage: 'relay', timeoutMs: 15_000 }]);
  });
  it('tries direct alone without TURN servers', () => {
    expect(planStages('relay', { ...o, hasTurn: false })).toEqual([
      { stage: 'direct', timeoutMs: 15_000 },
    ]);
  });
});
