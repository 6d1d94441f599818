/**
 * DOMAIN A.3 end to end, through every package on one bus: the instruction syndrome (A.3.3), DC
 * zeroing to Device memory (A.3.5), guest context (A.3.7), tag-check modes and the host (A.3.8),
 * the VMM's view of ID registers (A.3.10), tag copying (A.3.11) and drop-check's capability (A.3.12).
 */
import { decodeEsr } from '@mteperm/arm64';
import type { Envelope, EventData } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import type { KernelProfile } from '../scenario/types';
import { runScenario } from './run-scenario';

const HOST = 'cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb, nv] }]';

/** A VM with MTE and MTE_PERM, RAM at 0x80000000, a cacheable BAR (NoTagAccess) and a device BAR. */
function yaml(steps: string[], opts: { host?: string; caps?: string[]; el2?: boolean } = {}): string {
  const caps = opts.caps ?? ['KVM_CAP_ARM_MTE', 'KVM_CAP_ARM_MTE_PERM'];
  return [
    'name: a3',
    'host:',
    `  ${opts.host ?? HOST}`,
    'steps:',
    '  - create_vm: { ipa_bits: 40 }',
    ...caps.map((c) => `  - enable_cap: ${c}`),
    '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "64MiB", backing: anon }',
    '  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }',
    '  - set_user_memory_region: { slot: 2, guest_phys_addr: "0x20000000", memory_size: "16MiB", backing: vfio-bar }',
    `  - create_vcpu: { id: 0${opts.el2 === true ? ', el2: true' : ''} }`,
    ...steps.map((s) => `  - ${s}`),
    '',
  ].join('\n');
}

function run(text: string, kernel?: KernelProfile): { steps: readonly Record<string, unknown>[]; faults: EventData<'Stage2FaultTaken'>[] } {
  const events: Envelope[] = [];
  const { result } = runScenario(parseScenario(text, { file: 'a3.yaml' }), { sink: (_b, e) => events.push(e), ...(kernel === undefined ? {} : { kernel }) });
  const faults = events.flatMap((e) => (e.type === 'Stage2FaultTaken' ? [e.data] : []));
  return { steps: result.steps, faults };
}

/** The steps after the set-up (create_vm, caps, three memslots, create_vcpu). */
const tail = (r: { steps: readonly Record<string, unknown>[] }, caps = 2): readonly Record<string, unknown>[] => r.steps.slice(5 + caps);

describe('A.3.3 instruction syndrome in Stage2FaultTaken, under every profile', () => {
  it.each<KernelProfile>(['v2', 'v1', 'drop-check', 'baseline'])('%s: a 2-byte read into X3 of unmapped RAM faults with ISV 1, SAS 0b01, SRT 3, SF 0', (kernel) => {
    const r = run(yaml(['access: { vcpu: 0, gpa: "0x80001000", op: read, size: 2, reg: 3 }'], kernel === 'baseline' ? { caps: [] } : {}), kernel);
    expect(tail(r, kernel === 'baseline' ? 0 : 2)[0]).toMatchObject({ outcome: 'ok' });
    const f = r.faults[0]!;
    expect(f.kind).toBe('translation');
    // EC 0x24 | IL | ISV | SAS 1 << 22 | SRT 3 << 16 | DFSC 0b0001LL: 0x9343_0004 + level.
    expect(f.esr).toBe(0x9343_0004n + BigInt(f.level));
    expect(decodeEsr(f.esr)).toMatchObject({ isv: true, size: 2, sse: false, srt: 3, sf: false, ar: false, wnr: false });
  });

  it('an 8-byte store from X30 (SF 1) and a pair (ISV 0) of the same size', () => {
    const r = run(yaml(['access: { vcpu: 0, gpa: "0x80001000", op: write, reg: 30 }', 'access: { vcpu: 0, gpa: "0x80400000", op: write, pair: true }']));
    expect(decodeEsr(r.faults[0]!.esr)).toMatchObject({ isv: true, size: 8, srt: 30, sf: true, wnr: true });
    expect(decodeEsr(r.faults[1]!.esr)).toMatchObject({ isv: false, srt: 0, sf: false, wnr: true });
  });

  it('the NoTagAccess fault of a 4-byte checked load into X7 carries the syndrome with TagAccess; an STG has ISV 0 (v2)', () => {
    const r = run(yaml(['access: { vcpu: 0, gpa: "0x10000040", op: checked_read, size: 4, reg: 7 }', 'access: { vcpu: 0, gpa: "0x10000040", op: stg, size: 4, reg: 7 }']));
    expect(tail(r).map((s) => s['outcome'])).toEqual(['exit', 'exit']);
    const tagFaults = r.faults.filter((f) => f.tag_access);
    expect(tagFaults.map((f) => decodeEsr(f.esr))).toMatchObject([
      { isv: true, size: 4, srt: 7, sf: false, wnr: false, tagAccess: true, kind: 'permission' },
      { isv: false, srt: 0, wnr: true, tagAccess: true, kind: 'permission' },
    ]);
    // 0x0000_0200_9200_000c | level | ISV | SAS 2 << 22 | 7 << 16.
    expect(tagFaults[0]!.esr).toBe(0x0000_0200_9387_000cn + BigInt(tagFaults[0]!.level));
  });
});

describe('A.3.5 DC GZVA / DC GVA to a stage-2 Device mapping: KVM_RUN -EFAULT, no exit info', () => {
  const steps = ['dc_gzva', 'dc_gva', 'stg', 'ldg', 'st2g', 'stgm', 'ldgm'].map((op) => `access: { vcpu: 0, gpa: "0x20000040", op: ${op} }`);
  it.each<KernelProfile>(['v2', 'v1', 'drop-check'])('%s: the DC ops fail EFAULT, other tag accesses complete untagged', (kernel) => {
    const r = run(yaml(steps), kernel);
    expect(tail(r).map((s) => [s['access'], s['outcome'], s['errno'] ?? null])).toEqual([
      ['dc_gzva', 'error', 'EFAULT'],
      ['dc_gva', 'error', 'EFAULT'],
      ['stg', 'ok', null],
      ['ldg', 'ok', null],
      ['st2g', 'ok', null],
      ['stgm', 'ok', null],
      ['ldgm', 'ok', null],
    ]);
    expect(tail(r)[0]).not.toHaveProperty('exit');
    const alignment = r.faults.filter((f) => f.kind === 'alignment');
    expect(alignment.map((f) => f.esr)).toEqual([0x9200_0061n, 0x9200_0061n]); // EC 0x24, IL, WnR, DFSC 0b100001
  });
  it('baseline (no KVM_CAP_ARM_MTE, so the device BAR is a memslot): the same', () => {
    const r = run(yaml(steps.slice(0, 3), { caps: [] }), 'baseline');
    expect(tail(r, 0).map((s) => [s['outcome'], s['errno'] ?? null])).toEqual([
      ['error', 'EFAULT'],
      ['error', 'EFAULT'],
      ['ok', null],
    ]);
  });
  it('DC GZVA to RAM completes', () => {
    expect(tail(run(yaml(['access: { vcpu: 0, gpa: "0x80001000", op: dc_gzva }'])))[0]).toMatchObject({ outcome: 'ok' });
  });
});

describe('A.3.7 guest context (ata, tco) on a NoTagAccess page (v2)', () => {
  it.each<[string, string]>([
    ['op: stg', 'exit'],
    ['op: stg, ata: false', 'ok'],
    ['op: stg, tco: true', 'exit'],
    ['op: dc_gzva, ata: false', 'ok'],
    ['op: ldg, ata: false, tco: true', 'ok'],
    ['op: checked_write', 'exit'],
    ['op: checked_write, tco: true', 'ok'],
    ['op: checked_read, ata: false', 'ok'],
    ['op: checked_read, ata: true, tco: false', 'exit'],
  ])('%s → %s', (fields, outcome) => {
    expect(tail(run(yaml([`access: { vcpu: 0, gpa: "0x10000040", ${fields} }`])))[0]).toMatchObject({ outcome });
  });
});

// Raw registers (CONTRACT §1.1): PFR1.MTE [11:8], MTE_frac [43:40]; PFR2.MTEPERM [3:0]; MMFR2.FWB [43:40].
const cpu = (pfr1: string): string => `{ ID_AA64PFR1_EL1: "${pfr1}", ID_AA64PFR2_EL1: "0x1", ID_AA64MMFR2_EL1: "0x10000000000" }`;
const MTE2 = '0x200';
const MTE2_NO_ASYNC = '0xf0000000200'; // MTE_frac 0b1111: FEAT_MTE_ASYNC not implemented
const MTE3 = '0x300';

describe('A.3.8 async / asymm take effect only where every host CPU has the feature', () => {
  const access = (tcf: string): string => `access: { vcpu: 0, gpa: "0x10000040", op: checked_read, tcf: ${tcf} }`;
  it.each<[string, string[], string, string]>([
    ['MTE2 with MTE_frac 0 on both CPUs', [MTE2, MTE2], 'async', 'exit'],
    ['CPUs disagree on MTE_frac: the CPU without async decides', [MTE2, MTE2_NO_ASYNC], 'async', 'ok'],
    ['CPUs disagree on MTE_frac, the other order', [MTE2_NO_ASYNC, MTE2], 'async', 'ok'],
    ['CPUs disagree on MTE_frac, tcf sync still faults', [MTE2, MTE2_NO_ASYNC], 'sync', 'exit'],
    ['MTE2 only: asymm is Ignore', [MTE2, MTE2], 'asymm', 'ok'],
    ['MTE3 and MTE2: asymm is Ignore', [MTE3, MTE2], 'asymm', 'ok'],
    ['MTE3 everywhere: asymm faults synchronously', [MTE3, MTE3], 'asymm', 'exit'],
  ])('%s: tcf %s → %s', (_name, pfr1s, tcf, outcome) => {
    const host = `cpus: [${pfr1s.map(cpu).join(', ')}]`;
    expect(tail(run(yaml([access(tcf)], { host })))[0]).toMatchObject({ outcome });
  });
  it('the shorthands mte2 and mte3 imply FEAT_MTE_ASYNC', () => {
    for (const f of ['mte2', 'mte3']) {
      const host = `cpus: [{ count: 2, features: [${f}, mte_perm, s2fwb] }]`;
      expect(tail(run(yaml([access('async')], { host })))[0]).toMatchObject({ outcome: 'exit' });
    }
  });
});

describe('A.3.10 get_one_reg: the guest view as KVM_GET_ONE_REG gives it', () => {
  const regs = ['ID_AA64PFR1_EL1', 'ID_AA64PFR2_EL1', 'ID_AA64MMFR2_EL1'].map((reg) => `get_one_reg: { vcpu: 0, reg: ${reg} }`);
  const values = (r: { steps: readonly Record<string, unknown>[] }, caps: number) => tail(r, caps).map((s) => [s['reg'], s['ret'], s['value']]);
  it('with KVM_CAP_ARM_MTE and MTE_PERM, an EL2 vCPU: MTE 3, MTEPERM 1 (A.2.8), FWB and NV as the host', () => {
    expect(values(run(yaml(regs, { el2: true })), 2)).toEqual([
      ['ID_AA64PFR1_EL1', 0, '0x300'],
      ['ID_AA64PFR2_EL1', 0, '0x1'],
      ['ID_AA64MMFR2_EL1', 0, '0x10002000000'], // FWB [43:40] = 1, NV [27:24] = NV2
    ]);
  });
  it('an EL1 vCPU: MTEPERM 0 and no NV', () => {
    expect(values(run(yaml(regs)), 2)).toEqual([
      ['ID_AA64PFR1_EL1', 0, '0x300'],
      ['ID_AA64PFR2_EL1', 0, '0x0'],
      ['ID_AA64MMFR2_EL1', 0, '0x10000000000'],
    ]);
  });
  it('without KVM_CAP_ARM_MTE: MTE 0 (and MTEPERM 0 even with EL2)', () => {
    expect(values(run(yaml(regs, { caps: [], el2: true })), 0).slice(0, 2)).toEqual([
      ['ID_AA64PFR1_EL1', 0, '0x0'],
      ['ID_AA64PFR2_EL1', 0, '0x0'],
    ]);
  });
  it('MTE_frac is always 0 in the guest view, even where a host CPU reports 0b1111 (A.3.8)', () => {
    const host = `cpus: [${[MTE2, MTE2_NO_ASYNC].map(cpu).join(', ')}]`;
    expect(values(run(yaml(regs.slice(0, 1), { host })), 2)).toEqual([['ID_AA64PFR1_EL1', 0, '0x200']]);
  });
  it('a vCPU that was not created: -EBADF and no value', () => {
    const r = run(yaml(['get_one_reg: { vcpu: 5, reg: ID_AA64PFR1_EL1 }']));
    expect(tail(r)[0]).toEqual({ index: 7, op: 'get_one_reg', vcpu: 5, reg: 'ID_AA64PFR1_EL1', ret: -9, errno: 'EBADF' });
  });
});

describe('A.3.11 mte_copy_tags and A.3.12 drop-check, kept as they are', () => {
  it('A.3.11: ret is the bytes copied; -EFAULT for a NoTagAccess page; -EINVAL unaligned', () => {
    const r = run(
      yaml([
        'access: { vcpu: 0, gpa: "0x80001000", op: stg }',
        'mte_copy_tags: { gpa: "0x80001000", length: "8KiB" }',
        'access: { vcpu: 0, gpa: "0x10000040", op: read }',
        'mte_copy_tags: { gpa: "0x10000000", length: "4KiB" }',
        'mte_copy_tags: { gpa: "0x80001008", length: "4KiB" }',
      ]),
    );
    expect(tail(r).filter((s) => s['op'] === 'mte_copy_tags').map((s) => s['ret'])).toEqual([0x2000, -14, -22]);
  });
  it('A.3.11: without KVM_CAP_ARM_MTE, -EINVAL', () => {
    expect(tail(run(yaml(['mte_copy_tags: { gpa: "0x80001000", length: "4KiB" }'], { caps: [] })), 0)[0]).toMatchObject({ ret: -22, errno: 'EINVAL' });
  });
  it('A.3.12: under drop-check KVM_CAP_ARM_MTE_PERM does not exist (CHECK_EXTENSION 0, ENABLE_CAP -EINVAL) and the exit carries the A.2.5 fields', () => {
    const r = run(yaml(['check_extension: KVM_CAP_ARM_MTE_PERM', 'access: { vcpu: 0, gpa: "0x10000040", op: stg }']), 'drop-check');
    expect(r.steps[2]).toMatchObject({ op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' });
    expect(tail(r)[0]).toMatchObject({ op: 'check_extension', ret: 0 });
    expect(tail(r)[1]).toMatchObject({ outcome: 'exit', ret: -14, exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', size: '0x1000', flags: '0x10' } });
  });
});
