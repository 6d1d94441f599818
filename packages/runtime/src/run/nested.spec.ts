import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../scenario/load';
import type { KernelProfile } from '../scenario/types';
import { rebuildFromLog } from './rebuild';
import { recordScenario, runScenario } from './run-scenario';

/**
 * A guest hypervisor (EL2 vCPU on an NV host) maps L2 0x0 → its RAM NoTagAccess, L2 0x200000 → its
 * RAM normally, L2 0x400000 → a write-back VFIO BAR (L0 NoTagAccess under v2) normally.
 */
function nestedScenario(ops: string, features = '[mte3, mte_perm, s2fwb, nv]'): string {
  return `
name: nested
host: { cpus: [{ count: 2, features: ${features} }] }
steps:
  - create_vm: { ipa_bits: 40 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x40000000", memory_size: "1GiB", backing: anon }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "2MiB", backing: vfio-bar-wb }
  - create_vcpu: { id: 0, el2: true }
  - guest_stage2:
      vcpu: 0
      map:
        - { ipa: "0x0", pa: "0x40000000", size: "2MiB", attr: normal_notagaccess, ap: rw }
        - { ipa: "0x200000", pa: "0x40200000", size: "2MiB", attr: normal, ap: rw }
        - { ipa: "0x400000", pa: "0x10000000", size: "2MiB", attr: normal, ap: rw }
${ops}`;
}
const run = (yaml: string, kernel?: KernelProfile) => runScenario(parseScenario(yaml, { file: 't.yaml' }), kernel === undefined ? {} : { kernel }).result;
const L2_OPS = ['ldg', 'stg', 'checked_write', 'read'] as const;
const TARGETS = [
  ['L1 normal_notagaccess over tagged RAM', '0x1040'],
  ['L1 normal over tagged RAM', '0x201040'],
  ['L1 normal over a VFIO BAR', '0x401040'],
] as const;

// DOMAIN A.2.8 per profile: v2 → L1's NoTagAccess injects into L1, L0's exits 39/TAGACCESS with the L1
// IPA (A.2.5); v1 → exit 40; baseline → the BAR memslot is refused, so the BAR is MMIO; drop-check →
// the BAR is never mapped (B §5.4 row 10): the first fault on it exits 39/TAGACCESS even for a read.
function expected(profile: KernelProfile, target: number, op: (typeof L2_OPS)[number]): Record<string, unknown> {
  const tag = op !== 'read';
  // Only v2 gives L1 MTEPERM (kvm_has_mte_perm, A.2.8); elsewhere L1's 0b0100 is a reserved
  // encoding in its own view and never NoTagAccess (C §8 row 40), so the access completes.
  if (target === 0 && tag && profile === 'v2') {
    const wnr = op === 'stg';
    // A.3.3: a checked store is a single-register access: ISV, SAS 0b11, SF (0x01c0_8000); STG/LDG have ISV 0.
    const isv = op === 'checked_write';
    return { outcome: 'injected', target: 'L1', abort: { kind: 'stage2', esr: wnr ? '0x2009200004e' : isv ? '0x20093c0800e' : '0x2009200000e' } };
  }
  if (target === 2) {
    if (profile === 'baseline') return { outcome: 'exit', exit: { reason: 'KVM_EXIT_MMIO', phys_addr: '0x10001040' } };
    if (profile === 'drop-check') return { outcome: 'exit', ret: -14, exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10001000', flags: '0x10' } };
    if (tag && profile === 'v1') return { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', gpa: '0x10001000', size: '0x1000' } };
    if (tag) return { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10001000', size: '0x1000', flags: '0x10' } };
  }
  return { outcome: 'ok' };
}

const rows: Array<[KernelProfile, string, string, number, (typeof L2_OPS)[number]]> = [];
for (const profile of ['v2', 'v1', 'baseline', 'drop-check'] as KernelProfile[]) {
  TARGETS.forEach(([what, gpa], i) => L2_OPS.forEach((op) => rows.push([profile, what, gpa, i, op])));
}

describe('nested scenarios end to end (DOMAIN A.2.8, CONTRACT §1.4, §3)', () => {
  it.each(rows)('%s: %s, L2 %s %s', (profile, _what, gpa, target, op) => {
    const r = run(nestedScenario(`  - access: { vcpu: 0, gpa: "${gpa}", op: ${op}, level: 2 }`), profile);
    expect(r.steps[7]).toMatchObject({ op: 'access', gpa, access: op, ...expected(profile, target, op) });
  });

  it('v2: the guest_stage2 step shows L1\'s descriptors in its memory; shadow_stage2 holds L2-keyed leaves with host PAs', () => {
    const r = run(
      nestedScenario(`  - access: { vcpu: 0, gpa: "0x1000", op: read, level: 2 }
  - access: { vcpu: 0, gpa: "0x200000", op: stg, level: 2 }
  - access: { vcpu: 0, gpa: "0x400000", op: read, level: 2 }`),
    );
    // Table pages from the top of slot 0 (0x7ffff000 root, 0x7fffe000 level 1, 0x7fffd000 level 2).
    expect(r.steps[6]).toEqual({
      index: 6,
      op: 'guest_stage2',
      vcpu: 0,
      ret: 0,
      leaves: [
        { ipa: '0x0', level: 2, desc: '0x400007d1', at: '0x7fffd000' },
        { ipa: '0x200000', level: 2, desc: '0x402007fd', at: '0x7fffd008' },
        { ipa: '0x400000', level: 2, desc: '0x100007fd', at: '0x7fffd010' },
      ],
    });
    expect(r.steps.slice(7).map((s) => s['outcome'])).toEqual(['ok', 'ok', 'ok']);
    // 2 MiB shadow blocks (both stages map 2 MiB), SW1|SW0 = 2 (L1 level) at bit 56, XN, RW:
    // L1 NoTagAccess → 0b1111 under host FWB (C §5 rule 2); tagged RAM → 0b0110; the BAR's L0 NoTagAccess → 0b1110.
    expect(r.shadow_stage2).toEqual([
      { ipa: '0x0', level: 2, size: '0x200000', pa: '0x800000000', desc: '0x1400008000007fd', memattr: '0b1111', notagaccess: true, tagged: false },
      { ipa: '0x200000', level: 2, size: '0x200000', pa: '0x800200000', desc: '0x1400008002007d9', memattr: '0b0110', notagaccess: false, tagged: true },
      { ipa: '0x400000', level: 2, size: '0x200000', pa: '0x40000000000', desc: '0x1400400000007f9', memattr: '0b1110', notagaccess: true, tagged: false },
    ]);
  });

  it('policy tag-alloc-retry is offered L0\'s fault with the L1 IPA, and the L2 access is retried through a fresh shadow leaf', () => {
    const yaml = nestedScenario('  - access: { vcpu: 0, gpa: "0x401040", op: stg, level: 2 }');
    const s = parseScenario(yaml, { file: 't.yaml' });
    const allocate = { name: 'tag-alloc-retry', version: '1.0.0', decide: () => ({ kind: 'allocate-tags-and-retry' as const }) };
    const r = runScenario(s, { policies: [allocate], policyNames: ['tag-alloc-retry'] }).result;
    expect(r.steps[7]).toMatchObject({ outcome: 'retried' });
    expect(r.shadow_stage2).toContainEqual(expect.objectContaining({ ipa: '0x401000', size: '0x1000', memattr: '0b0110', notagaccess: false }));
  });

  it('an EL1-only vCPU cannot write a guest stage 2 (-EINVAL) and an EL2 vCPU without guest_stage2 runs L2 on L1 IPAs', () => {
    const yaml = nestedScenario('  - access: { vcpu: 1, gpa: "0x0", op: read, level: 2 }')
      .replace('  - create_vcpu: { id: 0, el2: true }', '  - create_vcpu: { id: 0, el2: true }\n  - create_vcpu: { id: 1 }')
      .replace('guest_stage2:\n      vcpu: 0', 'guest_stage2:\n      vcpu: 1');
    const r = run(yaml);
    expect(r.steps[7]).toMatchObject({ op: 'guest_stage2', ret: -22, errno: 'EINVAL', code: 'MTEPERM_NESTED_NOT_EL2' });
    expect(r.steps[8]).toMatchObject({ outcome: 'error', ret: -22 });
    const direct = run(nestedScenario('').replace(/  - guest_stage2:[\s\S]*$/, '  - access: { vcpu: 0, gpa: "0x10000040", op: stg, level: 2 }\n'));
    expect(direct.steps[6]).toMatchObject({ outcome: 'exit', exit: { gpa: '0x10000000', flags: '0x10' } });
  });

  it('rebuild replay of a nested run matches the recorded state hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mteperm-nested-'));
    try {
      const s = parseScenario(
        nestedScenario(`  - access: { vcpu: 0, gpa: "0x1000", op: stg, level: 2 }
  - access: { vcpu: 0, gpa: "0x201000", op: ldg, level: 2 }
  - access: { vcpu: 0, gpa: "0x401000", op: stg, level: 2 }
  - guest_stage2: { vcpu: 0, map: [{ ipa: "0x200000", pa: "0x40400000", size: "4KiB", attr: normal_notagaccess, ap: ro }] }
  - access: { vcpu: 0, gpa: "0x200000", op: ldg, level: 2 }`),
        { file: 't.yaml' },
      );
      const path = join(dir, 'n.mtelog');
      const { outcome, result } = recordScenario(s, path);
      expect(result.steps[10]).toMatchObject({ op: 'guest_stage2', ret: 0 });
      expect(result.steps[11]).toMatchObject({ outcome: 'injected', target: 'L1' });
      const report = rebuildFromLog(path);
      expect(report.matches).toBe(true);
      expect(report.rebuiltSha256).toBe(outcome.stateSha256);
      expect(report.model.nested.shadowLeavesJson(1)).toEqual(outcome.model.nested.shadowLeavesJson(1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
