import { PAGE_SIZE } from '@mteperm/arm64';
import { parseScenario } from '@mteperm/runtime';
import type { AccessOp } from '@mteperm/events';
import type { AccessStep, Scenario, ScenarioStep } from '@mteperm/runtime';

// Generated scenarios for the whole-pipeline figures. Every access is a guest fault: each one
// touches a page the stage 2 has not mapped yet, or makes a tag access to a NoTagAccess page.

const PIPELINE_HEAD = `name: bench-pipeline
kernel: v2
host:
  cpus:
    - count: 2
      features: [mte3, mte_perm, s2fwb]
steps:
  - create_vm: { ipa_bits: 40 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x100000000", memory_size: "8GiB", backing: anon, flags: [KVM_MEM_LOG_DIRTY_PAGES] }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }
  - set_user_memory_region: { slot: 2, guest_phys_addr: "0x400000000", memory_size: "8GiB", backing: file-shared }
  - create_vcpu: { id: 0 }
  - access: { vcpu: 0, gpa: "0x100000000", op: write }
`;
const RAM = 0x1_0000_0000n;
const BAR = 0x1000_0000n;
const FILE = 0x4_0000_0000n;
const RAM_OPS: readonly AccessOp[] = ['write', 'read', 'stg', 'checked_write', 'ldg'];

/** Most accesses `pipelineScenario` can generate (every RAM / file page touched once). */
export const MAX_PIPELINE_ACCESSES = 2_000_000;

/**
 * `accesses` guest accesses, eight in a row being: five first touches of RAM pages (write, read,
 * STG, checked write, LDG; dirty logging maps 4 KiB pages, tags sanitised), two first touches of a
 * page-cache file mapping (not tag-capable: NoTagAccess under v2), and one STG to a write-back VFIO
 * BAR page (NoTagAccess: permission fault, policy, KVM_EXIT_MEMORY_FAULT). Built as a Scenario
 * object: steps beyond the file format's 10^6 limit are fine here.
 */
export function pipelineScenario(accesses: number): { scenario: Scenario; firstAccess: number; lastAccess: number } {
  return withAccesses(PIPELINE_HEAD, 'bench-pipeline.yaml', accesses, (i) => {
    const k = i & 7;
    if (k === 7) return { gpa: BAR + BigInt(((i >> 3) & 4095) * PAGE_SIZE + 0x40), access: 'stg' };
    if (k >= 5) return { gpa: FILE + BigInt(i * PAGE_SIZE), access: k === 5 ? 'read' : 'write' };
    return { gpa: RAM + BigInt(i * PAGE_SIZE), access: RAM_OPS[k]! };
  });
}

/**
 * The scenario `head` (setup steps, then one access step as the model) with that access replaced by
 * `accesses` copies, the i-th at `at(i)`.
 */
function withAccesses(
  head: string,
  file: string,
  accesses: number,
  at: (i: number) => { gpa: bigint; access: AccessOp },
): { scenario: Scenario; firstAccess: number; lastAccess: number } {
  if (accesses > MAX_PIPELINE_ACCESSES) throw new RangeError(`at most ${MAX_PIPELINE_ACCESSES} accesses`);
  const base = parseScenario(head, { file });
  const proto = base.steps[base.steps.length - 1] as AccessStep;
  const steps: ScenarioStep[] = base.steps.slice(0, -1);
  const firstAccess = steps.length;
  for (let i = 0; i < accesses; i++) steps.push({ ...proto, index: steps.length, ...at(i) });
  return { scenario: { ...base, steps }, firstAccess, lastAccess: steps.length - 1 };
}

const NESTED_HEAD = `name: bench-nested
kernel: v2
host:
  cpus:
    - { count: 2, features: [mte3, mte_perm, s2fwb, nv] }
steps:
  - create_vm: { ipa_bits: 44 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x40000000", memory_size: "8GiB", backing: anon, flags: [KVM_MEM_LOG_DIRTY_PAGES] }
  - create_vcpu: { id: 0, el2: true }
  - guest_stage2:
      vcpu: 0
      map:
        - { ipa: "0x0", pa: "0x40000000", size: "8GiB", attr: normal, ap: rw }
  - access: { vcpu: 0, gpa: "0x0", op: write, level: 2 }
`;

/**
 * `accesses` level-2 (nested guest) accesses, each to an L2 page not touched before: a shadow
 * stage-2 fault, which faults the L1 IPA into the VM's stage 2 first, then maps the shadow entry.
 */
export function nestedScenario(accesses: number): { scenario: Scenario; firstAccess: number; lastAccess: number } {
  return withAccesses(NESTED_HEAD, 'bench-nested.yaml', accesses, (i) => ({ gpa: BigInt(i * PAGE_SIZE), access: i & 1 ? 'read' : 'write' }));
}

/**
 * `accesses` guest accesses that first touch `pages` pages of the pipelineScenario mix and then
 * revisit them in turn (hits: AccessRequested + AccessCompleted; the BAR STG exits each time).
 * Logs of any length over the same final state: what replay's memory should not grow with.
 */
export function revisitScenario(accesses: number, pages = 8192): { scenario: Scenario; firstAccess: number; lastAccess: number } {
  const first = pipelineScenario(Math.min(pages, accesses));
  const touched = first.scenario.steps.slice(first.firstAccess);
  const steps: ScenarioStep[] = first.scenario.steps.slice();
  for (let i = touched.length; i < accesses; i++) steps.push({ ...touched[i % touched.length]!, index: steps.length });
  return { scenario: { ...first.scenario, steps }, firstAccess: first.firstAccess, lastAccess: steps.length - 1 };
}
