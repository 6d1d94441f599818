import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import seaDefault, { injectSea } from './index';

describe('inject-sea (DOMAIN A.2.7)', () => {
  it('injects a synchronous external abort for every tag-access fault', () => {
    for (const fault of [tagAccessFault(), tagAccessFault({ op: 'dc_gzva', backing: 'dax-pmem' }), tagAccessFault({ op: 'checked_write' })]) {
      expect(injectSea.decide(fault, policyContextOf())).toEqual({ kind: 'inject-sea' });
    }
  });

  it('is a frozen plugin named inject-sea, also the default export', () => {
    expect({ name: injectSea.name, version: injectSea.version, frozen: Object.isFrozen(injectSea) }).toEqual({ name: 'inject-sea', version: '0.1.0', frozen: true });
    expect(seaDefault).toBe(injectSea);
  });
});
