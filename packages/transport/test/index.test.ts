import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/transport', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/transport', layer: 'peers' });
  });
});
