import { decodeMemAttr, encodeMemAttr, memAttrNoTagAccess, S2_MEMATTR } from './memattr';
import { S2_FWB_MEMATTR } from './fwb';

describe('MemAttr decode, FWB = 0 (DOMAIN C §1.1, Table D8-96)', () => {
  it('0b0100 is Normal WB NoTagAccess with FEAT_MTE_PERM and reserved without (DOMAIN C §1.1)', () => {
    expect(decodeMemAttr(0b0100, { fwb: false })).toEqual({ kind: 'normal', outer: 'wb', inner: 'wb', forced: false, noTagAccess: true });
    expect(decodeMemAttr(0b0100, { fwb: false, mtePerm: false })).toEqual({ kind: 'reserved', bits: 0b0100 });
  });
  it('0b1110 is Outer WB Inner WT, not NoTagAccess, when FWB = 0 (DOMAIN C §1.1)', () => {
    const a = decodeMemAttr(0b1110, { fwb: false });
    expect(a).toEqual({ kind: 'normal', outer: 'wb', inner: 'wt', forced: false, noTagAccess: false });
  });
  it('0b00xx are the Device types and 0b1000 / 0b1100 reserved (DOMAIN C §1.1)', () => {
    expect([0, 1, 2, 3].map((b) => decodeMemAttr(b, { fwb: false }))).toEqual([
      { kind: 'device', device: 'nGnRnE' },
      { kind: 'device', device: 'nGnRE' },
      { kind: 'device', device: 'nGRE' },
      { kind: 'device', device: 'GRE' },
    ]);
    expect(decodeMemAttr(0b1000, { fwb: false }).kind).toBe('reserved');
    expect(decodeMemAttr(0b1100, { fwb: false }).kind).toBe('reserved');
  });
  it('only 0b0100 means NoTagAccess when FWB = 0 (DOMAIN A.2.6)', () => {
    const nta = [...Array(16).keys()].filter((b) => memAttrNoTagAccess(decodeMemAttr(b, { fwb: false })));
    expect(nta).toEqual([0b0100]);
  });
});

describe('MemAttr decode, FWB = 1 (DOMAIN C §1.2, Table D8-101)', () => {
  it('0b1110 and 0b1111 both mean NoTagAccess with FWB (DOMAIN A.2.6, C §7.1)', () => {
    const nta = [...Array(16).keys()].filter((b) => memAttrNoTagAccess(decodeMemAttr(b, { fwb: true })));
    expect(nta).toEqual([0b1110, 0b1111]);
    expect(decodeMemAttr(0b1110, { fwb: true })).toEqual({ kind: 'normal', outer: 'wb', inner: 'wb', forced: true, noTagAccess: true });
    expect(decodeMemAttr(0b1111, { fwb: true })).toEqual({ kind: 'stage1', noTagAccess: true });
  });
  it('0b0110 forces Normal WB, 0b0101 Normal NC, 0b0111 passes stage 1 through (DOMAIN C §1.2)', () => {
    expect(decodeMemAttr(0b0110, { fwb: true })).toEqual({ kind: 'normal', outer: 'wb', inner: 'wb', forced: true, noTagAccess: false });
    expect(decodeMemAttr(0b0101, { fwb: true })).toEqual({ kind: 'normal', outer: 'nc', inner: 'nc', forced: true, noTagAccess: false });
    expect(decodeMemAttr(0b0111, { fwb: true })).toEqual({ kind: 'stage1', noTagAccess: false });
  });
  it('0b0100, 0b10xx, 0b1100 and 0b1101 are reserved with FWB (DOMAIN C §1.2, §8 row 53)', () => {
    const reserved = [...Array(16).keys()].filter((b) => decodeMemAttr(b, { fwb: true }).kind === 'reserved');
    expect(reserved).toEqual([0b0100, 0b1000, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101]);
  });
  it('without FEAT_MTE_PERM MemAttr[3] is ignored: 0b1110 decodes as 0b0110, no NoTagAccess (DOMAIN C §8 row 54)', () => {
    expect(decodeMemAttr(0b1110, { fwb: true, mtePerm: false })).toEqual({ kind: 'normal', outer: 'wb', inner: 'wb', forced: true, noTagAccess: false });
  });
});

describe('MemAttr encode (DOMAIN B §4.2)', () => {
  it('FWB and non-FWB tables give KVM constants', () => {
    expect(S2_MEMATTR).toEqual({ normal_wb: 0b1111, normal_nc: 0b0101, device_ngnre: 0b0001, normal_wb_notagaccess: 0b0100 });
    expect(S2_FWB_MEMATTR).toEqual({ normal_wb: 0b0110, normal_nc: 0b0101, device_ngnre: 0b0001, normal_wb_notagaccess: 0b1110 });
    expect(encodeMemAttr('normal_wb', true, { fwb: true })).toBe(0b1110);
    expect(encodeMemAttr('normal_wb', true, { fwb: false })).toBe(0b0100);
    expect(encodeMemAttr('device_ngnre', true, { fwb: true })).toBeUndefined();
  });
});

describe('MemAttr encode, every KVM memory type (DOMAIN B §4.2, A.2.3)', () => {
  it.each([
    ['normal_wb', false, 0b1111, 0b0110],
    ['normal_wb', true, 0b0100, 0b1110],
    ['normal_nc', false, 0b0101, 0b0101],
    ['normal_nc', true, undefined, undefined],
    ['device_ngnre', false, 0b0001, 0b0001],
    ['device_ngnre', true, undefined, undefined],
  ] as const)('%s, NoTagAccess %s → FWB=0 %s, FWB=1 %s', (memType, nta, noFwb, fwb) => {
    expect(encodeMemAttr(memType, nta, { fwb: false })).toBe(noFwb);
    expect(encodeMemAttr(memType, nta, { fwb: true })).toBe(fwb);
  });
});
