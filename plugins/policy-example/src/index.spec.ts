import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import deviceSeaDefault, { createDeviceSeaPolicy, deviceSea } from './index';

describe('device-sea, the example policy (DOMAIN B §1.2, A.2.7)', () => {
  const ctx = policyContextOf();

  it.each([
    ['vfio-bar-wb', 'inject-sea'],
    ['file-shared', 'pass'],
    ['dax-pmem', 'pass'],
    ['none', 'pass'],
  ])('a tag access to %s memory → %s', (backing, kind) => {
    expect(deviceSea.decide(tagAccessFault({ backing }), ctx)).toEqual({ kind });
  });

  it('the backings are an option', () => {
    const policy = createDeviceSeaPolicy({ backings: ['vfio-bar-wb', 'dax-pmem'] });
    expect(['vfio-bar-wb', 'dax-pmem', 'file-shared'].map((backing) => policy.decide(tagAccessFault({ backing }), ctx).kind)).toEqual(['inject-sea', 'inject-sea', 'pass']);
  });

  it('meets the contract: named device-sea, frozen, default export', () => {
    expect({ name: deviceSea.name, version: deviceSea.version, frozen: Object.isFrozen(deviceSea) }).toEqual({ name: 'device-sea', version: '0.1.0', frozen: true });
    expect(deviceSeaDefault).toBe(deviceSea);
  });
});
