/**
 * DOMAIN A.3.3's result field: every access step whose access took a stage-2 abort carries `esr`
 * (ESR_EL2 as taken, the first one if it was retried), last among its keys (CONTRACT §3); and A.3.4,
 * MMIO outside every memslot: KVM_EXIT_MMIO with the access size, -ENOSYS or KVM_EXIT_ARM_NISV for ISV 0.
 */
import type { Envelope, EventData } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import { runScenario } from './run-scenario';

const HOST = 'cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb, nv] }]';

function a3Yaml(steps: string[], caps: string[] = ['KVM_CAP_ARM_MTE', 'KVM_CAP_ARM_MTE_PERM']): string {
  return [
    'name: a3',
    'host:',
    `  ${HOST}`,
    'steps:',
    '  - create_vm: { ipa_bits: 40 }',
    ...caps.map((c) => `  - enable_cap: ${c}`),
    '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "64MiB", backing: anon }',
    '  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }',
    '  - create_vcpu: { id: 0 }',
    ...steps.map((s) => `  - ${s}`),
    '',
  ].join('\n');
}

function a3Run(text: string): { steps: readonly Record<string, unknown>[]; faults: EventData<'Stage2FaultTaken'>[] } {
  const events: Envelope[] = [];
  const { result } = runScenario(parseScenario(text, { file: 'a3.yaml' }), { sink: (_b, e) => events.push(e) });
  return { steps: result.steps, faults: events.flatMap((e) => (e.type === 'Stage2FaultTaken' ? [e.data] : [])) };
}

describe('A.3.3 `esr` in the access step result', () => {
  it('a 4-byte write into X7 of unmapped RAM: ok, esr = the translation fault as taken (ISV 1, SAS 0b10, SRT 7, WnR)', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x80001000", op: write, size: 4, reg: 7 }']));
    const step = r.steps[r.steps.length - 1]!;
    expect(r.faults).toHaveLength(1);
    expect(step['esr']).toBe(`0x${r.faults[0]!.esr.toString(16)}`);
    // EC 0x24, IL, ISV, SAS 0b10, SRT 7, WnR, DFSC = translation fault at the walk's level.
    expect(BigInt(step['esr'] as string) & ~0x3fn).toBe(0x9387_0040n);
    expect(Object.keys(step)).toEqual(['index', 'op', 'vcpu', 'gpa', 'access', 'outcome', 'esr']);
  });

  it('a second access to the now mapped page took no abort: no esr', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x80001000", op: write }', 'access: { vcpu: 0, gpa: "0x80001008", op: read }']));
    expect(r.steps[r.steps.length - 1]).toEqual({ index: r.steps.length - 1, op: 'access', vcpu: 0, gpa: '0x80001008', access: 'read', outcome: 'ok' });
  });

  it('STG to the NoTagAccess BAR: two aborts (translation, then permission); esr is the first, after the exit', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x10000040", op: stg }']));
    const step = r.steps[r.steps.length - 1]!;
    expect(r.faults.map((f) => f.kind)).toEqual(['translation', 'permission']);
    expect(step['esr']).toBe(`0x${r.faults[0]!.esr.toString(16)}`);
    expect(Object.keys(step)).toEqual(['index', 'op', 'vcpu', 'gpa', 'access', 'outcome', 'ret', 'errno', 'exit', 'esr']);
  });
});

// Outside every memslot: the MMIO hole at 0x9000000 (below RAM and the BAR).
const MMIO = '0x9000010';

describe('A.3.4 MMIO: a data access outside every memslot', () => {
  it.each([1, 2, 4, 8])('a %i-byte read with ISV 1: KVM_EXIT_MMIO, len = size, ret 0', (size) => {
    const r = a3Run(a3Yaml([`access: { vcpu: 0, gpa: "${MMIO}", op: read, size: ${size}, reg: 2 }`]));
    const step = r.steps[r.steps.length - 1]!;
    expect(step).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: MMIO, len: `0x${size.toString(16)}`, is_write: false } });
    expect(Object.keys(step)).toEqual(['index', 'op', 'vcpu', 'gpa', 'access', 'outcome', 'ret', 'exit', 'esr']);
    expect(Object.keys(step['exit'] as object)).toEqual(['reason', 'phys_addr', 'len', 'is_write']);
  });

  it('a 4-byte write: is_write true, len 0x4', () => {
    const r = a3Run(a3Yaml([`access: { vcpu: 0, gpa: "${MMIO}", op: write, size: 4 }`]));
    expect(r.steps[r.steps.length - 1]).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: MMIO, len: '0x4', is_write: true } });
  });

  it.each([
    ['an STP (pair)', 'op: write, pair: true, size: 8'],
    ['an LDP (pair)', 'op: read, pair: true, size: 4'],
    ['an STG (tag instruction)', 'op: stg'],
  ])('%s has ISV 0: KVM_RUN -ENOSYS, no exit', (_name, op) => {
    const r = a3Run(a3Yaml([`access: { vcpu: 0, gpa: "${MMIO}", ${op} }`]));
    expect(r.steps[r.steps.length - 1]).toMatchObject({ outcome: 'error', ret: -38, errno: 'ENOSYS' });
  });

  it('with KVM_CAP_ARM_NISV_TO_USER (177): CHECK_EXTENSION 1, ENABLE_CAP 0, an STP exits KVM_EXIT_ARM_NISV {fault_ipa, esr_iss}, ret 0', () => {
    const caps = ['KVM_CAP_ARM_MTE', 'KVM_CAP_ARM_MTE_PERM', 'KVM_CAP_ARM_NISV_TO_USER'];
    const text = a3Yaml(['check_extension: KVM_CAP_ARM_NISV_TO_USER', `access: { vcpu: 0, gpa: "${MMIO}", op: write, pair: true, size: 8 }`], caps);
    const r = a3Run(text);
    expect(r.steps[3]).toMatchObject({ op: 'enable_cap', cap: 'KVM_CAP_ARM_NISV_TO_USER', ret: 0 });
    const n = r.steps.length;
    expect(r.steps[n - 2]).toMatchObject({ op: 'check_extension', cap: 'KVM_CAP_ARM_NISV_TO_USER', ret: 1 });
    const step = r.steps[n - 1]!;
    const esr = r.faults[0]!.esr;
    // esr_iss: ESR_EL2 kept to CM (bit 8), WnR (bit 6) and the FSC (bits 5:0) as kvm_run.arm_nisv has it.
    expect(step).toEqual({
      index: n - 1,
      op: 'access',
      vcpu: 0,
      gpa: MMIO,
      access: 'write',
      outcome: 'exit',
      ret: 0,
      exit: { reason: 'KVM_EXIT_ARM_NISV', fault_ipa: MMIO, esr_iss: `0x${(esr & 0x17fn).toString(16)}` },
      esr: `0x${esr.toString(16)}`,
    });
    expect((esr >> 24n) & 1n).toBe(0n); // ISV 0
    expect(esr & 0x40n).toBe(0x40n); // WnR
  });

  it('with KVM_CAP_ARM_NISV_TO_USER, an ISV 1 access still exits KVM_EXIT_MMIO', () => {
    const r = a3Run(a3Yaml([`access: { vcpu: 0, gpa: "${MMIO}", op: read, size: 2 }`], ['KVM_CAP_ARM_NISV_TO_USER']));
    expect(r.steps[r.steps.length - 1]).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', len: '0x2' } });
  });

  it('an instruction fetch there: a prefetch abort is injected', () => {
    const r = a3Run(a3Yaml([`access: { vcpu: 0, gpa: "${MMIO}", op: exec }`]));
    expect(r.steps[r.steps.length - 1]).toMatchObject({ outcome: 'injected', abort: { kind: 'prefetch' } });
  });
});
