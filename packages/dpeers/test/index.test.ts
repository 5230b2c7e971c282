import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/dpeers', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/dpeers', layer: 'peers' });
  });
});
