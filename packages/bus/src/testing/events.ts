import type { EventData, MteEvent } from '@mteperm/events';

/**
 * Builders of the events a domain spec's `given` usually starts from, with the defaults of the
 * CONTRACT §1 example (a v2 run on an MTE3 + FEAT_MTE_PERM + S2FWB + NV host, one 40-bit VM). Only
 * what a case names differs from the default, so a case reads as the domain facts it depends on.
 */

type Data<T extends MteEvent['type']> = EventData<T>;
type Ev<T extends MteEvent['type']> = Extract<MteEvent, { type: T }>;

export interface HostShape {
  /** FEAT_MTE level: 0 none, 1 EL0-only, 2 MTE2, 3 MTE3 (ID_AA64PFR1_EL1.MTE, DOMAIN B §2.1). */
  readonly mte?: number;
  readonly mtePerm?: boolean;
  readonly s2fwb?: boolean;
  readonly nv?: boolean;
}

/** HostCpusProbed of `count` identical CPUs; the raw ID registers agree with the derived flags. */
export function hostProbed(host: HostShape = {}, count = 1): Ev<'HostCpusProbed'> {
  const mte = host.mte ?? 3;
  const mtePerm = host.mtePerm ?? true;
  const s2fwb = host.s2fwb ?? true;
  const nv = host.nv ?? true;
  const cpu = {
    id_aa64pfr1_el1: BigInt(mte) << 8n, // MTE at [11:8] (DOMAIN B §2.1)
    id_aa64pfr2_el1: mtePerm ? 1n : 0n, // MTEPERM at [3:0]
    id_aa64mmfr2_el1: s2fwb ? 1n << 40n : 0n, // FWB at [43:40]
    id_aa64mmfr4_el1: 0n,
  };
  return { type: 'HostCpusProbed', data: { cpus: Array.from({ length: count }, () => cpu), sanitised: cpu, mte, mte_perm: mtePerm, s2fwb, nv } };
}

export function runStarted(kernel = 'v2', extra: Partial<Data<'RunStarted'>> = {}): Ev<'RunStarted'> {
  return { type: 'RunStarted', data: { scenario: 't', kernel, policies: [], tag_pool_pages: 64n, ...extra } };
}

export function vmCreated(ipaBits = 40, ret = 0): Ev<'VmCreated'> {
  return { type: 'VmCreated', data: { ipa_bits: ipaBits, ret } };
}

const CAP_NUMBERS = { KVM_CAP_ARM_MTE: 205, KVM_CAP_ARM_MTE_PERM: 239 } as const;

/** CapabilityEnabled of KVM_CAP_ARM_MTE (205) or KVM_CAP_ARM_MTE_PERM (239, provisional: DOMAIN A.2.1). */
export function capEnabled(cap: keyof typeof CAP_NUMBERS, ret = 0, extra: Partial<Data<'CapabilityEnabled'>> = {}): Ev<'CapabilityEnabled'> {
  return { type: 'CapabilityEnabled', data: { cap: CAP_NUMBERS[cap], cap_name: cap, flags: 0n, args: [], ret, ...extra } };
}

/** The VMA of private anonymous RAM (CONTRACT §1.2 `anon`): tag-capable and cacheable. */
export const ANON_VMA: Data<'MemslotRegistered'>['vma'] = {
  backing: 'anon',
  mte_allowed: true,
  pfnmap: false,
  shared: false,
  cacheable: true,
  hugetlb: false,
  userspace_addr: 0n,
};

export function memslotRegistered(
  slot: number,
  guestPhysAddr: bigint,
  memorySize: bigint,
  vma: Partial<Data<'MemslotRegistered'>['vma']> = {},
  extra: Partial<Data<'MemslotRegistered'>> = {},
): Ev<'MemslotRegistered'> {
  return {
    type: 'MemslotRegistered',
    data: { slot, change: 'create', guest_phys_addr: guestPhysAddr, memory_size: memorySize, flags: 0, vma: { ...ANON_VMA, ...vma }, ...extra },
  };
}

export function vcpuCreated(id: number, el2 = false, ret = 0): Ev<'VcpuCreated'> {
  return { type: 'VcpuCreated', data: { id, el2, ret } };
}

/** AccessRequested with the CONTRACT §1.3 defaults: level 1, tcf sync, s1 tagged. */
export function accessRequested(gpa: bigint, op: Data<'AccessRequested'>['op'], extra: Partial<Data<'AccessRequested'>> = {}): Ev<'AccessRequested'> {
  return { type: 'AccessRequested', data: { step: 0, gpa, op, level: 1, tcf: 'sync', s1: 'tagged', ...extra } };
}

/** Stage2MapRequested of Normal write-back RW memory, tagged unless `no_tag_access`. */
export function mapRequested(ipa: bigint, pa: bigint, size: bigint, extra: Partial<Data<'Stage2MapRequested'>> = {}): Ev<'Stage2MapRequested'> {
  return { type: 'Stage2MapRequested', data: { ipa, pa, size, mem_type: 'normal_wb', no_tag_access: false, r: true, w: true, x: false, sw: 0, ...extra } };
}
