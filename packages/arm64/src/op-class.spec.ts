import { ACCESS_OPS, TAG_CHECKED_OPS, TAG_OPS, TAG_READ_OPS, TAG_WRITE_OPS, WRITE_OPS, accessEffect, baseOp, isTagOp } from './op-class';

const sorted = (s: ReadonlySet<string>) => [...s].sort();

describe('op classes (CONTRACT §1.3; DOMAIN A.2.5, A.2.6, C §3.4)', () => {
  it('every op has exactly one class', () => {
    expect(ACCESS_OPS).toEqual(['read', 'write', 'exec', 'ldg', 'ldgm', 'stg', 'st2g', 'stgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write']);
    expect(ACCESS_OPS.map((op) => accessEffect(op).cls)).toEqual(['data', 'data', 'exec', 'tag_read', 'tag_read', 'tag_write', 'tag_write', 'tag_write', 'tag_write', 'tag_write', 'tag_checked', 'tag_checked']);
  });
  it('tag reads LDG, LDGM; tag writes STG, ST2G, STGM, DC GVA, DC GZVA (DC GVA writes tags: C §8 row 6)', () => {
    expect(sorted(TAG_READ_OPS)).toEqual(['ldg', 'ldgm']);
    expect(sorted(TAG_WRITE_OPS)).toEqual(['dc_gva', 'dc_gzva', 'st2g', 'stg', 'stgm']);
    expect(sorted(TAG_OPS)).toEqual(['dc_gva', 'dc_gzva', 'ldg', 'ldgm', 'st2g', 'stg', 'stgm']);
    expect(sorted(TAG_CHECKED_OPS)).toEqual(['checked_read', 'checked_write']);
  });
  it('base permission: tag writes and stores need S2AP W, tag reads R, exec X (C §3.4)', () => {
    expect(sorted(WRITE_OPS)).toEqual(['checked_write', 'dc_gva', 'dc_gzva', 'st2g', 'stg', 'stgm', 'write']);
    expect(ACCESS_OPS.map(baseOp)).toEqual(['read', 'write', 'exec', 'read', 'read', 'write', 'write', 'write', 'write', 'write', 'read', 'write']);
    expect(ACCESS_OPS.filter(isTagOp)).toEqual(ACCESS_OPS.slice(3)); // everything but read, write, exec
  });
});
