/**
 * Random scenarios for the reliability properties (issue 11): random hosts, memslots over all seven
 * backings (CONTRACT §1.2) with random sizes, alignment and flags, random memslot changes (create,
 * move, delete, flags-only), random accesses (all 12 ops, tcf, s1), random policy chains with small
 * tag pools, and nested layouts (guest_stage2 + level-2 accesses). Scenarios are built as the JSON
 * document a user would write and go through the real loader (parseScenario), so every one of them
 * is a valid `Scenario`.
 */
import fc from 'fast-check';
import type { Scenario } from '../../src/scenario/types';
import { parseScenario } from '../../src/scenario/load';

export const BACKINGS = ['anon', 'shmem', 'hugetlb', 'file-shared', 'dax-pmem', 'vfio-bar-wb', 'vfio-bar'] as const;
export const OPS = ['read', 'write', 'exec', 'ldg', 'stg', 'st2g', 'stgm', 'ldgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'] as const;
export const PROFILES = ['baseline', 'v1', 'v2', 'drop-check'] as const;
const TCF = ['sync', 'async', 'asymm', 'none'] as const;
const S1 = ['tagged', 'untagged'] as const;
const POLICIES = ['exit-to-vmm', 'tag-alloc-retry', 'inject-sea'] as const;

const KiB = 0x400;
const MiB = 0x10_0000;
const GiB = 0x4000_0000;

/** Sizes that hit pages, 2 MiB blocks, blocks cut by the slot end, and 1 GiB blocks. */
const SIZES = [4 * KiB, 8 * KiB, 12 * KiB, 64 * KiB, 2 * MiB, 2 * MiB + 4 * KiB, 4 * MiB, 6 * MiB - 4 * KiB, GiB];

/** Guest physical bases: 2 MiB grid in the first GiB, page-offset variants, 1 GiB-aligned, near the top of a 36-bit IPA space. */
const base = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 3 })).map(([b, p]) => b * 2 * MiB + p * 4 * KiB) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((g) => g * GiB) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 36 - 2 * MiB, 2 ** 36, 2 ** 40 - 4 * KiB) },
);

const slotDef = fc.record({
  slot: fc.integer({ min: 0, max: 3 }),
  base,
  size: fc.constantFrom(...SIZES),
  backing: fc.constantFrom(...BACKINGS),
  /** `{kind, mte_allowed}` override (CONTRACT §1.2), rarely. */
  override: fc.option(fc.boolean(), { nil: undefined, freq: 6 }),
  dirty: fc.constantFrom(false, false, false, true),
  readonly: fc.constantFrom(false, false, false, false, true),
});

type SlotDef = typeof slotDef extends fc.Arbitrary<infer T> ? T : never;
type RawStep =
  | { k: 'create'; def: SlotDef }
  | { k: 'move'; pick: number; to: number }
  | { k: 'delete'; pick: number }
  | { k: 'flags'; pick: number }
  | { k: 'access'; pick: number; offset: number; op: (typeof OPS)[number]; tcf: (typeof TCF)[number]; s1: (typeof S1)[number]; vcpu: number }
  | { k: 'gs2'; entries: Array<{ l2: number; pick: number; offset: number; block: boolean; attr: 'normal' | 'normal_notagaccess' | 'device'; ap: 'rw' | 'ro' | 'none' }> }
  | { k: 'l2access'; l2: number; offset: number; op: (typeof OPS)[number]; tcf: (typeof TCF)[number]; s1: (typeof S1)[number] }
  | { k: 'late-cap'; cap: 'KVM_CAP_ARM_MTE' | 'KVM_CAP_ARM_MTE_PERM' }
  | { k: 'copy-tags'; pick: number; offset: number; toGuest: boolean };

const access = { op: fc.constantFrom(...OPS), tcf: fc.constantFrom(...TCF), s1: fc.constantFrom(...S1) };
const rawStep: fc.Arbitrary<RawStep> = fc.oneof(
  { weight: 3, arbitrary: slotDef.map((def) => ({ k: 'create' as const, def })) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('move' as const), pick: fc.nat(), to: base }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('flags' as const), pick: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('access' as const), pick: fc.nat(), offset: fc.nat(), ...access, vcpu: fc.constantFrom(0, 0, 0, 1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('gs2' as const),
      entries: fc.array(
        fc.record({
          l2: fc.integer({ min: 0, max: 3 }),
          pick: fc.nat(),
          offset: fc.nat(),
          block: fc.boolean(),
          attr: fc.constantFrom('normal' as const, 'normal_notagaccess' as const, 'device' as const),
          ap: fc.constantFrom('rw' as const, 'rw' as const, 'ro' as const, 'none' as const),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('l2access' as const), l2: fc.integer({ min: 0, max: 3 }), offset: fc.nat(), ...access }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('late-cap' as const), cap: fc.constantFrom('KVM_CAP_ARM_MTE' as const, 'KVM_CAP_ARM_MTE_PERM' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('copy-tags' as const), pick: fc.nat(), offset: fc.nat(), toGuest: fc.boolean() }) },
);

const MTE_LEVELS = [[], ['mte'], ['mte2'], ['mte3'], ['mte3'], ['mte3']] as const;
const cpuEntry = fc.record({
  count: fc.integer({ min: 1, max: 4 }),
  mte: fc.constantFrom(...MTE_LEVELS),
  mte_perm: fc.boolean(),
  s2fwb: fc.boolean(),
  nv: fc.boolean(),
});

export interface ScenarioOptions {
  /** Force this profile (else random). */
  readonly kernel?: (typeof PROFILES)[number];
  /** Probability-free switch: host with MTE3 + MTE_PERM on every CPU and both caps enabled first. */
  readonly mteOn?: boolean;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** A random scenario document (plain JSON data), built so that steps refer to slots that were asked for. */
export function scenarioDoc(options: ScenarioOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      kernel: options.kernel === undefined ? fc.constantFrom(...PROFILES) : fc.constant(options.kernel),
      cpus: fc.array(cpuEntry, { minLength: 1, maxLength: 2 }),
      ipaBits: fc.constantFrom(0, 36, 40, 44),
      caps: fc.shuffledSubarray(['KVM_CAP_ARM_MTE', 'KVM_CAP_ARM_MTE_PERM'], { minLength: options.mteOn ? 2 : 0 }),
      el2: fc.boolean(),
      secondVcpu: fc.constantFrom(true, true, true, false),
      initial: fc.uniqueArray(slotDef, { minLength: 1, maxLength: 3, selector: (d) => d.slot }),
      lateVcpu: fc.constantFrom(false, false, false, true),
      steps: fc.array(rawStep, { minLength: 1, maxLength: 24 }),
      policy: fc.option(fc.shuffledSubarray([...POLICIES], { minLength: 1 }), { nil: undefined }),
      pool: fc.integer({ min: 0, max: 4 }),
    })
    .map((r) => {
      const cpus = r.cpus.map((c) => {
        const features: string[] = [...c.mte];
        if (options.mteOn) features.splice(0, features.length, 'mte3', 'mte_perm');
        else if (c.mte_perm) features.push('mte_perm');
        if (c.s2fwb) features.push('s2fwb');
        if (c.nv || r.el2) features.push('nv');
        return { count: c.count, features: [...new Set(features)] };
      });
      const steps: unknown[] = [{ create_vm: { ipa_bits: r.ipaBits } }];
      for (const cap of r.caps) steps.push({ enable_cap: cap });
      // The slots the scenario asked for so far (whether or not KVM accepted them).
      const slots = new Map<number, { base: number; size: number; backing: unknown; flags: number }>();
      const nth = (pick: number) => {
        const all = [...slots.entries()];
        return all.length === 0 ? undefined : all[pick % all.length]!;
      };
      const l2Map = new Map<number, boolean>(); // L2 block index → mapped by a guest_stage2 step
      // Mostly: slots, then the vCPU, then anything; sometimes the vCPU comes a few steps later.
      let vcpuAt = r.lateVcpu ? Math.min(r.steps.length, 1 + (r.steps.length >> 2)) : 0;
      const body: unknown[] = [];
      const all: RawStep[] = [...r.initial.map((def) => ({ k: 'create' as const, def })), ...r.steps];
      if (!r.lateVcpu) vcpuAt = r.initial.length;
      else vcpuAt += r.initial.length;
      all.forEach((s, i) => {
        if (i === vcpuAt) {
          body.push({ create_vcpu: { id: 0, ...(r.el2 ? { el2: true } : {}) } });
          if (r.secondVcpu) body.push({ create_vcpu: { id: 1 } });
        }
        switch (s.k) {
          case 'create': {
            const d = s.def;
            const backing = d.override === undefined ? d.backing : { kind: d.backing, mte_allowed: d.override };
            const flags = (d.dirty ? 1 : 0) | (d.readonly ? 2 : 0);
            const old = slots.get(d.slot);
            if (old !== undefined) {
              // Re-registering an existing slot with other parameters: KVM refuses (-EINVAL); keep it rare.
              body.push({ set_user_memory_region: { slot: d.slot, guest_phys_addr: hex(d.base), memory_size: hex(d.size), backing, flags: flagNames(flags) } });
              break;
            }
            slots.set(d.slot, { base: d.base, size: d.size, backing, flags });
            body.push({ set_user_memory_region: { slot: d.slot, guest_phys_addr: hex(d.base), memory_size: hex(d.size), backing, flags: flagNames(flags) } });
            break;
          }
          case 'move': {
            const e = nth(s.pick);
            if (e === undefined) break;
            const [slot, m] = e;
            body.push({ set_user_memory_region: { slot, guest_phys_addr: hex(s.to), memory_size: hex(m.size), backing: m.backing, flags: flagNames(m.flags) } });
            slots.set(slot, { ...m, base: s.to });
            break;
          }
          case 'delete': {
            const e = nth(s.pick);
            if (e === undefined) break;
            body.push({ set_user_memory_region: { slot: e[0], guest_phys_addr: hex(e[1].base), memory_size: '0', backing: e[1].backing } });
            slots.delete(e[0]);
            break;
          }
          case 'flags': {
            const e = nth(s.pick);
            if (e === undefined) break;
            const flags = e[1].flags ^ 1; // toggle dirty logging (flags-only change)
            body.push({ set_user_memory_region: { slot: e[0], guest_phys_addr: hex(e[1].base), memory_size: hex(e[1].size), backing: e[1].backing, flags: flagNames(flags) } });
            slots.set(e[0], { ...e[1], flags });
            break;
          }
          case 'access': {
            const e = nth(s.pick);
            // Mostly inside a slot the scenario asked for; sometimes a bare address (no memslot: MMIO).
            const gpa = e === undefined || s.offset % 23 === 0 ? (s.offset % 64) * 2 * MiB + (s.offset % 4096) : e[1].base + (s.offset % e[1].size);
            body.push({ access: { vcpu: s.vcpu, gpa: hex(gpa), op: s.op, ...(s.tcf === 'sync' ? {} : { tcf: s.tcf }), ...(s.s1 === 'tagged' ? {} : { s1: s.s1 }) } });
            break;
          }
          case 'gs2': {
            if (!r.el2) break;
            const map = [];
            for (const en of s.entries) {
              const e = nth(en.pick);
              if (e === undefined) continue;
              const size = en.block ? 2 * MiB : 4 * KiB;
              const pa = Math.floor((e[1].base + (en.offset % e[1].size)) / size) * size;
              map.push({ ipa: hex(en.l2 * 2 * MiB), pa: hex(pa), size: hex(size), attr: en.attr, ap: en.ap });
              l2Map.set(en.l2, true);
            }
            if (map.length > 0) body.push({ guest_stage2: { vcpu: 0, map } });
            break;
          }
          case 'l2access': {
            if (!r.el2 || !l2Map.has(s.l2)) break;
            const gpa = s.l2 * 2 * MiB + (s.offset % (4 * KiB));
            body.push({ access: { vcpu: 0, gpa: hex(gpa), op: s.op, level: 2, ...(s.tcf === 'sync' ? {} : { tcf: s.tcf }), ...(s.s1 === 'tagged' ? {} : { s1: s.s1 }) } });
            break;
          }
          case 'late-cap':
            body.push({ enable_cap: s.cap });
            break;
          case 'copy-tags': {
            const e = nth(s.pick);
            if (e === undefined) break;
            body.push({ mte_copy_tags: { gpa: hex(e[1].base + Math.floor((s.offset % e[1].size) / 4096) * 4096), length: '0x1000', to_guest: s.toGuest } });
            break;
          }
        }
      });
      if (vcpuAt >= all.length) body.push({ create_vcpu: { id: 0, ...(r.el2 ? { el2: true } : {}) } });
      vcpuAt = -1;
      return {
        name: 'prop',
        kernel: r.kernel,
        host: { cpus },
        steps: [...steps, ...body],
        ...(r.policy === undefined ? {} : { policy: r.policy }),
        policy_options: { tag_pool_pages: r.pool },
      };
    });
}

function flagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & 1) out.push('KVM_MEM_LOG_DIRTY_PAGES');
  if (flags & 2) out.push('KVM_MEM_READONLY');
  return out;
}

/** The document through the real loader (CONTRACT §1): a validated, frozen Scenario. */
export function toScenario(doc: Record<string, unknown>): Scenario {
  return parseScenario(JSON.stringify(doc), { file: 'prop.json' });
}
