import type { MteEvent, MteEventType } from '../../generated/union';

const cpu = {
  id_aa64pfr1_el1: 0x0000_0000_0000_0300n, // MTE=0b0011 (MTE3) at [11:8]
  id_aa64pfr2_el1: 0x1n, // MTEPERM=1 at [3:0]
  id_aa64mmfr2_el1: 0x0000_0020_0000_0000n, // FWB=1 at [43:40]
  id_aa64mmfr4_el1: 0n,
};
const vma = {
  backing: 'vfio-bar-wb',
  mte_allowed: false,
  pfnmap: true,
  shared: true,
  cacheable: true,
  hugetlb: false,
  userspace_addr: 0x7f00_0000_0000n,
};

/**
 * One well-formed event of every kind, with 64-bit values above 2^53 where the field allows, so
 * that tests of the codec, bus and log exercise every message and the bigint boundary.
 */
export const SAMPLE_EVENTS: { readonly [K in MteEventType]: Extract<MteEvent, { type: K }> } = {
  RunStarted: { type: 'RunStarted', data: { scenario: 'vfio-passthrough-mte', kernel: 'v2', policies: ['exit-to-vmm'], tag_pool_pages: 64n } },
  HostCpusProbed: {
    type: 'HostCpusProbed',
    data: { cpus: [cpu, { ...cpu, id_aa64pfr2_el1: 0n }], sanitised: { ...cpu, id_aa64pfr2_el1: 0n }, mte: 3, mte_perm: false, s2fwb: true, nv: false, mte_async: false, mte_asym_fault: false },
  },
  StateHashRecorded: { type: 'StateHashRecorded', data: { sha256: new Uint8Array(32).fill(0xab), events: 41n } },
  VmCreated: { type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } },
  CapabilityChecked: { type: 'CapabilityChecked', data: { cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', ret: 1n } },
  CapabilityEnabled: { type: 'CapabilityEnabled', data: { cap: 205, cap_name: 'KVM_CAP_ARM_MTE', flags: 0n, args: [0n, 0xffff_ffff_ffff_ffffn], ret: -22, step: 2 } },
  MemslotRegistered: {
    type: 'MemslotRegistered',
    data: { slot: 1, change: 'create', guest_phys_addr: 0x10000000n, memory_size: 0x1000000n, flags: 0, vma, step: 5 },
  },
  MemslotRefused: {
    type: 'MemslotRefused',
    data: { slot: 1, change: 'create', guest_phys_addr: 0x10000000n, memory_size: 0x1000000n, flags: 1, vma, ret: -22, reason: 'VM_PFNMAP with dirty logging' },
  },
  VcpuCreated: { type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } },
  MteTagsCopied: { type: 'MteTagsCopied', data: { guest_ipa: 0x80000000n, length: 0x1000n, to_guest: false, ret: -14n } },
  MigrationChecked: {
    type: 'MigrationChecked',
    data: { target_cpus: [cpu], accepted: false, failed_step: 3, failed_op: 'enable_cap', failed_cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22 },
  },
  AccessRequested: { type: 'AccessRequested', data: { step: 8, gpa: 0x10000040n, op: 'stg', level: 1, tcf: 'sync', s1: 'tagged', size: 4, pair: true, reg: 30, ata: false, tco: true } },
  AccessCompleted: { type: 'AccessCompleted', data: { gpa: 0x80001000n, op: 'write', pa: 0x8_4000_1000n, tags_ignored: false, level: 2 } },
  Stage2FaultTaken: {
    // EC 0x24, IL, WnR, DFSC 0x0F (permission, level 3), ISS2.TagAccess (bit 41)
    type: 'Stage2FaultTaken',
    data: { ipa: 0x10000040n, esr: 0x0000_0200_9200_004fn, kind: 'permission', level: 3, tag_access: true, op: 'stg' },
  },
  KvmRunFailed: { type: 'KvmRunFailed', data: { gpa: 0x10000000n, ret: -14, reason: 'VMA lost VM_MTE_ALLOWED after registration' } },
  DisallowedVmaFault: { type: 'DisallowedVmaFault', data: { ipa: 0x1000_0040n } },
  MmioExit: { type: 'MmioExit', data: { phys_addr: 0x9000000n, len: 4, is_write: true } },
  // An STP outside every memslot (DOMAIN A.3.4): WnR and DFSC 0x06 (translation fault, level 2).
  ArmNisvExit: { type: 'ArmNisvExit', data: { fault_ipa: 0x9000010n, esr_iss: 0x46n } },
  MemoryFaultExit: { type: 'MemoryFaultExit', data: { exit_reason: 39, gpa: 0x10000000n, size: 0x1000n, flags: 0x10n, ret: -14 } },
  InjectedAbort: { type: 'InjectedAbort', data: { kind: 'sea', ipa: 0x10000040n, esr: 0x9600_0010n, target_level: 1 } },
  AccessEnded: {
    // A tag access that exited to the VMM (DOMAIN A.2.5): every exit field, and the first ESR.
    type: 'AccessEnded',
    data: {
      step: 8,
      gpa: 0x10000040n,
      outcome: 'exit',
      ret: -14,
      esr: 0x0000_0200_9200_004fn,
      exit_reason: 39,
      exit_gpa: 0x10000000n,
      exit_size: 0x1000n,
      exit_flags: 0x10n,
      phys_addr: 0n,
      len: 0,
      is_write: false,
      abort_kind: 'sea',
      abort_esr: 0x9600_0010n,
      abort_target_level: 1,
      reason: 'tag access to a NoTagAccess page',
    },
  },
  Stage2MapRequested: {
    type: 'Stage2MapRequested',
    data: { ipa: 0x10000000n, pa: 0x8_0000_0000n, size: 0x1000n, mem_type: 'normal_wb', no_tag_access: true, r: true, w: true, x: false, sw: 0, retry_access: true },
  },
  Stage2Mapped: { type: 'Stage2Mapped', data: { ipa: 0x10000000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_07fbn } },
  Stage2Unmapped: { type: 'Stage2Unmapped', data: { ipa: 0x10000000n, size: 0x200000n } },
  Stage2Relaxed: { type: 'Stage2Relaxed', data: { ipa: 0x10000000n, level: 3, desc: 0x0000_0008_0000_07fbn } },
  Stage2BlockSplit: { type: 'Stage2BlockSplit', data: { ipa: 0x80000000n, level: 2 } },
  Stage2UnmapRequested: { type: 'Stage2UnmapRequested', data: { ipa: 0x80000000n, size: 0x200000n } },
  Stage2RelaxRequested: { type: 'Stage2RelaxRequested', data: { ipa: 0x80001000n, r: true, w: true, x: false, sw: 0, retry_access: true } },
  Stage2RequestRefused: {
    type: 'Stage2RequestRefused',
    data: { request: 'map', ipa: 0x10000000n, size: 0x1000n, ret: -22, code: 'MTEPERM_S2_PROT' },
  },
  TagsSanitised: { type: 'TagsSanitised', data: { pa: 0x8_4000_0000n, size: 0x200000n } },
  PolicyDecided: { type: 'PolicyDecided', data: { ipa: 0x10000040n, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: 12n } },
  PluginFailed: { type: 'PluginFailed', data: { plugin: './my-policy.js', hook: 'decide', reason: 'threw', message: 'boom' } },
  TagStorageAllocated: { type: 'TagStorageAllocated', data: { ipa: 0x10000000n, pa: 0x9_0000_0000n, pages: 1n, pool_remaining: 63n } },
  GuestStage2Written: { type: 'GuestStage2Written', data: { ipa: 0x40000000n, pa: 0x10000000n, size: 0x200000n, attr: 'normal_notagaccess', ap: 'rw' } },
  ShadowStage2Mapped: {
    type: 'ShadowStage2Mapped',
    data: { ipa: 0x40000000n, l1_ipa: 0x10000000n, pa: 0x8_0000_0000n, size: 0x1000n, level: 3, desc: 0x0060_0008_0000_07d3n },
  },
  ShadowStage2Invalidated: { type: 'ShadowStage2Invalidated', data: { ipa: 0x40000000n, size: 0x200000n } },
  SubscriberFailed: { type: 'SubscriberFailed', data: { subscriber: 'mmu', event_seq: 7n, event_kind: 'Stage2FaultTaken', message: 'boom' } },
};

/** The sample events in schema order, as a list. */
export const SAMPLE_EVENT_LIST: readonly MteEvent[] = Object.values(SAMPLE_EVENTS);
