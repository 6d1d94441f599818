import { decodeEsr, encodeEsr, encodeInjectedAbort, faultStatusCode, FSC_ALIGNMENT, FSC_SEA } from './esr';

describe('ESR_EL2 of stage-2 aborts (Arm ARM D24.2.46; DOMAIN C §3.3)', () => {
  it.each<[string, Parameters<typeof encodeEsr>[0], number]>([
    ['NoTagAccess LDG at level 3', { kind: 'permission', level: 3, instruction: false, wnr: false, tagAccess: true }, 0x0000_0200_9200_000f],
    ['NoTagAccess STG at level 3', { kind: 'permission', level: 3, instruction: false, wnr: true, tagAccess: true }, 0x0000_0200_9200_004f],
    ['translation write at level 2', { kind: 'translation', level: 2, instruction: false, wnr: true, tagAccess: false }, 0x9200_0046],
    ['access flag read at level 3', { kind: 'access_flag', level: 3, instruction: false, wnr: false, tagAccess: false }, 0x9200_000b],
    ['instruction abort, permission at level 1 (WnR RES0)', { kind: 'permission', level: 1, instruction: true, wnr: true, tagAccess: false }, 0x8200_000d],
    ['alignment fault (DFSC 0b100001, no level; A.3.5)', { kind: 'alignment', level: 3, instruction: false, wnr: true, tagAccess: false }, 0x9200_0061],
  ])('%s → %s', (_name, s, esr) => {
    expect(encodeEsr(s)).toBe(esr);
  });

  it('decodes ISS2.TagAccess at bit 41 and the ISS fields (DOMAIN A.2.5)', () => {
    expect(decodeEsr(0x0000_0200_9200_004fn)).toEqual({
      ec: 0x24,
      il: true,
      isv: false,
      size: 1,
      sse: false,
      srt: 0,
      sf: false,
      ar: false,
      ea: false,
      wnr: true,
      fsc: 0b001111,
      kind: 'permission',
      level: 3,
      iss2: 1 << 9,
      tagAccess: true,
    });
    expect(decodeEsr(0x9300_0246n)).toMatchObject({ isv: true, ea: true, kind: 'translation', level: 2, tagAccess: false });
    expect(decodeEsr(0x9200_0061).kind).toBe('alignment');
    expect(decodeEsr(0x9600_0010).kind).toBeUndefined();
  });

  it('FSCs: 0b0001LL, 0b0010LL, 0b0011LL, SEA 0b010000, alignment 0b100001', () => {
    expect([faultStatusCode('translation', 0), faultStatusCode('access_flag', 1), faultStatusCode('permission', 2)]).toEqual([0b000100, 0b001001, 0b001110]);
    expect([FSC_SEA, FSC_ALIGNMENT]).toEqual([0x10, 0x21]);
  });
});

describe('ESR_EL1 of the aborts KVM injects (kvm_inject_dabt / kvm_inject_pabt; DOMAIN A.3.9)', () => {
  it('a data abort from EL1 is 0x96000010: EC 0x25, IL, DFSC 0b010000; ISV, WnR, EA, ISS2 all 0', () => {
    const esr = encodeInjectedAbort({ instruction: false });
    expect(esr).toBe(0x9600_0010n);
    expect(decodeEsr(esr)).toEqual({ ec: 0x25, il: true, isv: false, size: 1, sse: false, srt: 0, sf: false, ar: false, ea: false, wnr: false, fsc: 0x10, kind: undefined, level: 0, iss2: 0, tagAccess: false });
  });
  it('from EL0 the EC is 0x24 (0x92000010); a prefetch abort is EC 0x21 (0x86000010), 0x20 from EL0', () => {
    expect(encodeInjectedAbort({ instruction: false, fromEl0: true })).toBe(0x9200_0010n);
    expect(encodeInjectedAbort({ instruction: true })).toBe(0x8600_0010n);
    expect(encodeInjectedAbort({ instruction: true, fromEl0: true })).toBe(0x8200_0010n);
  });
});
