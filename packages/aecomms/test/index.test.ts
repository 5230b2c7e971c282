import { describe, expect, it } from '@jest/globals';
import { packageInfo } from '../src/index.js';

describe('@detr/aecomms', () => {
  it('declares its layer', () => {
    expect(packageInfo).toEqual({ name: '@detr/aecomms', layer: 'core' });
  });
});
