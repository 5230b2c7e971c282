import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/dht', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/dht', layer: 'net' });
  });
});
