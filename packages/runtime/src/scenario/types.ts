import type { AccessOp, KernelProfile, S1Attr, Tcf } from '@mteperm/events';

/** The validated, deeply frozen scenario (CONTRACT §1). Field names keep the scenario's own spelling. */
export interface Scenario {
  readonly name: string;
  readonly kernel: KernelProfile;
  readonly host: ScenarioHost;
  readonly steps: readonly ScenarioStep[];
  /** Fault-policy plugins in order; `['exit-to-vmm']` when the file names none (DOMAIN A.2.7). */
  readonly policy: readonly string[];
  readonly policy_options: PolicyOptions;
  readonly expect: readonly ScenarioExpectation[];
}

/** DOMAIN.md A.1 (the events package's vocabulary). */
export type { KernelProfile };

export interface ScenarioHost {
  /** Entries as written, each with its `count` (1 when absent); the runtime expands them per CPU. */
  readonly cpus: readonly ScenarioCpu[];
}

/** CONTRACT §1.1 shorthand. */
export type CpuFeatureName = 'mte' | 'mte2' | 'mte3' | 'mte_perm' | 's2fwb' | 'nv';

/** A CPU entry is either shorthand features or raw ID registers, never both. */
export type ScenarioCpu = ScenarioCpuFeatures | ScenarioCpuRegisters;
export interface ScenarioCpuFeatures {
  readonly kind: 'features';
  readonly count: number;
  /** As listed, duplicates dropped; implications (mte3 ⇒ mte2 ⇒ mte) are cpufeature's business. */
  readonly features: readonly CpuFeatureName[];
}
export interface ScenarioCpuRegisters {
  readonly kind: 'registers';
  readonly count: number;
  /** Registers the entry leaves out read as 0. */
  readonly ID_AA64PFR1_EL1: bigint;
  readonly ID_AA64PFR2_EL1: bigint;
  readonly ID_AA64MMFR2_EL1: bigint;
}

export interface PolicyOptions {
  /** Pages in tag-alloc-retry's tag-storage pool (default 64). */
  readonly tag_pool_pages: number;
  /** Run the file and package policies in a sandboxed process (`--sandbox`; README "Plugin isolation"). */
  readonly sandbox?: boolean;
}

/** One `expect` entry: `match` is the entry minus `index`, kept as plain JSON data. */
export interface ScenarioExpectation {
  readonly index: number;
  readonly match: { readonly [field: string]: JsonValue };
}
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A capability by kernel name (`KVM_CAP_ARM_MTE`) or by number; names are resolved by the uapi. */
export type CapRef = string | number;

/** CONTRACT §1.2. */
export type BackingKind = 'anon' | 'shmem' | 'hugetlb' | 'file-shared' | 'dax-pmem' | 'vfio-bar-wb' | 'vfio-bar';
export interface ScenarioBacking {
  readonly kind: BackingKind;
  /** VM_MTE_ALLOWED: the §1.2 table's value for `kind` unless the step overrides it. */
  readonly mte_allowed: boolean;
}

export type Stage2Attr = 'normal' | 'normal_notagaccess' | 'device';
export type Stage2Ap = 'rw' | 'ro' | 'none';

export type ScenarioStep =
  | CreateVmStep
  | CheckExtensionStep
  | EnableCapStep
  | SetUserMemoryRegionStep
  | CreateVcpuStep
  | AccessStep
  | GuestStage2Step
  | MigrateStep
  | MteCopyTagsStep
  | GetOneRegStep;
export type ScenarioStepOp = ScenarioStep['op'];

interface StepBase {
  /** 0-based position in `steps`, as in the result. */
  readonly index: number;
}

export interface CreateVmStep extends StepBase {
  readonly op: 'create_vm';
  /** 0 asks for the kernel's default (40 bits); the uapi decides which values are refused. */
  readonly ipa_bits: number;
}
export interface CheckExtensionStep extends StepBase {
  readonly op: 'check_extension';
  readonly cap: CapRef;
}
export interface EnableCapStep extends StepBase {
  readonly op: 'enable_cap';
  readonly cap: CapRef;
  /** struct kvm_enable_cap.args, zero-padded to 4. */
  readonly args: readonly [bigint, bigint, bigint, bigint];
  readonly flags: number;
}
export interface SetUserMemoryRegionStep extends StepBase {
  readonly op: 'set_user_memory_region';
  readonly slot: number;
  readonly guest_phys_addr: bigint;
  readonly memory_size: bigint;
  readonly backing: ScenarioBacking;
  /** KVM_MEM_* bits; names are turned into their values (KVM_MEM_LOG_DIRTY_PAGES 1, KVM_MEM_READONLY 2). */
  readonly flags: number;
}
export interface CreateVcpuStep extends StepBase {
  readonly op: 'create_vcpu';
  readonly id: number;
  readonly el2: boolean;
}
export interface AccessStep extends StepBase {
  readonly op: 'access';
  readonly vcpu: number;
  readonly gpa: bigint;
  /** The scenario's `op` field (the result calls it `access` too). */
  readonly access: AccessOp;
  readonly level: 1 | 2;
  readonly tcf: Tcf;
  readonly s1: S1Attr;
  /** DOMAIN A.3.3: bytes (1, 2, 4, 8), LDP/STP (size 4 or 8 only), Xt (0..30). */
  readonly size: 1 | 2 | 4 | 8;
  readonly pair: boolean;
  readonly reg: number;
  /** DOMAIN A.3.7: SCTLR_ELx.ATA of the accessing EL, PSTATE.TCO. */
  readonly ata: boolean;
  readonly tco: boolean;
}
export interface GuestStage2Step extends StepBase {
  readonly op: 'guest_stage2';
  readonly vcpu: number;
  readonly map: readonly GuestStage2Entry[];
}
export interface GuestStage2Entry {
  readonly ipa: bigint;
  /** The guest hypervisor's IPA (CONTRACT §1.4). */
  readonly pa: bigint;
  readonly size: bigint;
  readonly attr: Stage2Attr;
  readonly ap: Stage2Ap;
}
export interface MigrateStep extends StepBase {
  readonly op: 'migrate';
  readonly to: ScenarioHost;
}
/** Extension (not in CONTRACT §1.3): KVM_ARM_MTE_COPY_TAGS on the VM. */
export interface MteCopyTagsStep extends StepBase {
  readonly op: 'mte_copy_tags';
  readonly gpa: bigint;
  readonly length: bigint;
  /** true: KVM_ARM_TAGS_TO_GUEST; false (default): KVM_ARM_TAGS_FROM_GUEST. */
  readonly to_guest: boolean;
}
/** KVM_GET_ONE_REG of an ID register: the guest's view as the VMM reads it (DOMAIN A.3.10). */
export interface GetOneRegStep extends StepBase {
  readonly op: 'get_one_reg';
  readonly vcpu: number;
  readonly reg: IdRegisterName;
}
export type IdRegisterName = 'ID_AA64PFR1_EL1' | 'ID_AA64PFR2_EL1' | 'ID_AA64MMFR2_EL1';
