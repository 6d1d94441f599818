import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import retryDefault, { tagAllocRetry } from './index';

describe('tag-alloc-retry (DOMAIN A.2.7)', () => {
  it.each([
    [64, 'allocate-tags-and-retry'],
    [1, 'allocate-tags-and-retry'],
    [0, 'pass'],
  ])('with %i pool pages left answers %s', (remaining, kind) => {
    expect(tagAllocRetry.decide(tagAccessFault(), policyContextOf({ tagPoolRemaining: remaining }))).toEqual({ kind });
  });

  it('decides the same for tag instructions and tag-checked accesses (A.2.5, A.2.6)', () => {
    for (const op of ['ldg', 'stg', 'st2g', 'stgm', 'ldgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'] as const) {
      expect(tagAllocRetry.decide(tagAccessFault({ op }), policyContextOf({ tagPoolRemaining: 2 })).kind).toBe('allocate-tags-and-retry');
    }
  });

  it('is a frozen plugin named tag-alloc-retry, also the default export', () => {
    expect({ name: tagAllocRetry.name, version: tagAllocRetry.version, frozen: Object.isFrozen(tagAllocRetry) }).toEqual({ name: 'tag-alloc-retry', version: '0.1.0', frozen: true });
    expect(retryDefault).toBe(tagAllocRetry);
  });
});
