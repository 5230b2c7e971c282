import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/protocol', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/protocol', layer: 'protocol' });
  });
});
