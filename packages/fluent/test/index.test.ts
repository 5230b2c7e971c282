import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/fluent', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/fluent', layer: 'core' });
  });
});
