import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/stored', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/stored', layer: 'core' });
  });
});
