import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/nat', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/nat', layer: 'net' });
  });
});
