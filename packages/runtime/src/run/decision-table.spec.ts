import { parseScenario } from '../scenario/load';
import type { KernelProfile } from '../scenario/types';
import { runScenario } from './run-scenario';

// End to end, every row of DOMAIN B §5.4 under every profile of A.1, with and without FWB: the
// scenario goes through uapi (memslot checks), pgtable (walk, descriptors) and mmu (the decision).
const PROFILES: readonly KernelProfile[] = ['baseline', 'v1', 'v2', 'drop-check'];

const MEMATTR = {
  normal: { fwb: '0b0110', nofwb: '0b1111' },
  notagaccess: { fwb: '0b1110', nofwb: '0b0100' },
  device: { fwb: '0b0001', nofwb: '0b0001' },
};

interface Row {
  readonly mte: boolean;
  readonly hostPerm?: boolean;
  readonly backing: string;
  /** Register the memslot before enabling MTE (a VMA that became disallowed after registration, row 5). */
  readonly slotFirst?: boolean;
  readonly flags?: string;
  readonly accesses: readonly string[];
}

function scenario(row: Row, profile: KernelProfile, fwb: boolean): string {
  const features = ['mte3', ...(row.hostPerm === false ? [] : ['mte_perm']), ...(fwb ? ['s2fwb'] : [])];
  const slot = `  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "4MiB", backing: ${row.backing}${row.flags ? `, flags: ${row.flags}` : ''} }`;
  const caps = row.mte ? ['  - enable_cap: KVM_CAP_ARM_MTE', '  - enable_cap: KVM_CAP_ARM_MTE_PERM'] : [];
  return [
    'name: row',
    `kernel: ${profile}`,
    `host: { cpus: [{ count: 2, features: [${features.join(', ')}] }] }`,
    'steps:',
    '  - create_vm: {}',
    ...(row.slotFirst ? [slot, ...caps] : [...caps, slot]),
    '  - create_vcpu: { id: 0 }',
    ...row.accesses.map((a) => `  - access: { vcpu: 0, gpa: "0x10001040", op: ${a} }`),
  ].join('\n');
}

function run(row: Row, profile: KernelProfile, fwb: boolean) {
  const r = runScenario(parseScenario(scenario(row, profile, fwb), { file: 'row.yaml' })).result;
  const slotStep = r.steps.find((s) => s.op === 'set_user_memory_region')!;
  const accesses = r.steps.filter((s) => s.op === 'access') as Array<Record<string, unknown>>;
  const leaf = r.stage2.find((l) => l.ipa === '0x10000000' || l.ipa === '0x10001000');
  return { slotRet: slotStep['ret'], accesses, leaf };
}

const cases = PROFILES.flatMap((p) => [true, false].map((fwb) => [p, fwb] as const));
const fwbName = (fwb: boolean) => (fwb ? 'fwb' : 'nofwb');

describe.each(cases)('DOMAIN B §5.4 decision table under %s (FWB %s)', (profile, fwb) => {
  const f = fwbName(fwb);

  it('row 1: no MTE, RAM → Normal WB, no tag work (tagged false)', () => {
    const r = run({ mte: false, backing: 'anon', accesses: ['read'] }, profile, fwb);
    expect(r.accesses[0]).toMatchObject({ outcome: 'ok' });
    expect(r.leaf).toMatchObject({ memattr: MEMATTR.normal[f], notagaccess: false, tagged: false, size: '0x200000' });
  });

  it('row 2: no MTE, VFIO BAR (PFNMAP, non-cacheable) → Device-nGnRE 0b0001', () => {
    const r = run({ mte: false, backing: 'vfio-bar', accesses: ['read'] }, profile, fwb);
    expect(r.leaf).toMatchObject({ memattr: MEMATTR.device[f], notagaccess: false, tagged: false });
  });

  it('row 3: MTE, VM_MTE_ALLOWED RAM → tags sanitised, Normal WB, tagged', () => {
    const r = run({ mte: true, backing: 'shmem', accesses: ['stg'] }, profile, fwb);
    expect(r.accesses[0]).toMatchObject({ outcome: 'ok' });
    expect(r.leaf).toMatchObject({ memattr: MEMATTR.normal[f], notagaccess: false, tagged: true });
  });

  it('rows 4/7: MTE, VFIO BAR (device) → memslot per profile (B §5.1), then Device, no tag work', () => {
    const r = run({ mte: true, backing: 'vfio-bar', accesses: ['read'] }, profile, fwb);
    if (profile === 'baseline') {
      expect(r.slotRet).toBe(-22);
      expect(r.accesses[0]).toMatchObject({ outcome: 'exit', exit: { reason: 'KVM_EXIT_MMIO' } });
      expect(r.leaf).toBeUndefined();
    } else {
      expect(r.slotRet).toBe(0);
      expect(r.leaf).toMatchObject({ memattr: MEMATTR.device[f], notagaccess: false });
    }
  });

  it('row 6 (and row 10 under drop-check): MTE + PERM, cacheable BAR → NoTagAccess, no sanitising', () => {
    const r = run({ mte: true, backing: 'vfio-bar-wb', accesses: ['read'] }, profile, fwb);
    switch (profile) {
      case 'baseline':
        expect(r.slotRet).toBe(-22);
        expect(r.leaf).toBeUndefined();
        break;
      case 'drop-check':
        expect(r.slotRet).toBe(0);
        expect(r.accesses[0]).toMatchObject({ outcome: 'exit', ret: -14, exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10001000', flags: '0x10' } });
        expect(r.leaf).toBeUndefined();
        break;
      default:
        expect(r.slotRet).toBe(0);
        expect(r.accesses[0]).toMatchObject({ outcome: 'ok' });
        expect(r.leaf).toMatchObject({ memattr: MEMATTR.notagaccess[f], notagaccess: true, tagged: false });
    }
  });

  it('row 5: MTE without PERM on a BAR registered before MTE → KVM_RUN fails per profile, nothing mapped', () => {
    const r = run({ mte: true, hostPerm: false, backing: 'vfio-bar-wb', slotFirst: true, accesses: ['read'] }, profile, fwb);
    const want =
      profile === 'drop-check'
        ? { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { flags: '0x10' } }
        : profile === 'v1'
          ? { outcome: 'error', ret: -22, errno: 'EINVAL' } // v1 asks for NoTagAccess the CPU lacks (B §5.3)
          : { outcome: 'error', ret: -14, errno: 'EFAULT' };
    expect(r.accesses[0]).toMatchObject(want);
    expect(r.leaf).toBeUndefined();
  });

  it('row 8: a write after a read under dirty logging is a permission fault: relax to RW, MemAttr kept', () => {
    const r = run({ mte: true, backing: 'anon', flags: '[KVM_MEM_LOG_DIRTY_PAGES]', accesses: ['read', 'write'] }, profile, fwb);
    expect(r.accesses.map((a) => a['outcome'])).toEqual(['ok', 'ok']);
    // desc[7:6] S2AP = RW after the relax, 4 KiB page (dirty logging), memory type unchanged
    expect(r.leaf).toMatchObject({ size: '0x1000', memattr: MEMATTR.normal[f], tagged: true });
    expect((BigInt(r.leaf!.desc) >> 6n) & 3n).toBe(3n);
  });

  it('row 9: a tag access to a row-6 page → the exit of the profile (A.2.5)', () => {
    const r = run({ mte: true, backing: 'vfio-bar-wb', accesses: ['read', 'stg'] }, profile, fwb);
    const stg = r.accesses[1]!;
    switch (profile) {
      case 'v2':
        expect(stg).toMatchObject({ outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10001000', size: '0x1000', flags: '0x10' } });
        break;
      case 'v1':
        expect(stg).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', gpa: '0x10001000', size: '0x1000', flags: '0x0' } });
        break;
      case 'drop-check':
        expect(stg).toMatchObject({ outcome: 'exit', ret: -14, exit: { flags: '0x10' } });
        break;
      case 'baseline':
        expect(stg).toMatchObject({ outcome: 'error', ret: -38, errno: 'ENOSYS' }); // no memslot, tag op has no ISV
        break;
    }
  });
});
