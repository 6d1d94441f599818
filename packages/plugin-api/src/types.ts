import type { AccessOp } from '@mteperm/events';

/*
 * The fault-policy plugin contract (ARCHITECTURE "Fault-policy plugins", DOMAIN A.2.7).
 *
 * A plugin has one hook, `decide`, called *first-wins* in the configured order: for each
 * tag-access fault the chain asks every plugin in turn until one answers something other than
 * `pass`; when all pass, `exit-to-vmm` is the fallback. A plugin never changes model state: it
 * receives frozen views and returns a decision as data, which the mmu carries out.
 */

/** What a plugin may answer. */
export type PolicyDecisionKind = 'exit-to-vmm' | 'allocate-tags-and-retry' | 'inject-sea' | 'pass';

/**
 * A decision, as data:
 * - `exit-to-vmm`: the VMM gets the memory-fault exit (DOMAIN A.2.5);
 * - `allocate-tags-and-retry`: the mmu takes one page of tag storage from the bounded pool
 *   (`policy_options.tag_pool_pages`), sanitises its tags, remaps the page tagged Normal WB and
 *   retries the access (outcome `retried`); with the pool empty the chain treats it as `pass`;
 * - `inject-sea`: a synchronous external abort is injected into the guest (outcome `injected`);
 * - `pass`: no opinion; the next plugin decides.
 */
export type PolicyDecision =
  | { readonly kind: 'exit-to-vmm' }
  | { readonly kind: 'allocate-tags-and-retry' }
  | { readonly kind: 'inject-sea' }
  | { readonly kind: 'pass' };

/** The memslot the faulting IPA belongs to (`slot: -1` and zeros when there is none). */
export interface FaultMemslot {
  readonly slot: number;
  readonly guest_phys_addr: bigint;
  readonly memory_size: bigint;
  /** KVM_MEM_LOG_DIRTY_PAGES = 1, KVM_MEM_READONLY = 2. */
  readonly flags: number;
}

/** The stage-2 entry that faulted. */
export interface FaultStage2Entry {
  /** Lookup level of the fault (ESR_EL2 FSC level). */
  readonly level: number;
  /** The full 64-bit descriptor, when the component taking the fault knows it. */
  readonly desc?: bigint;
}

/**
 * A stage-2 Permission fault with ESR_EL2.ISS2.TagAccess set (DOMAIN A.2.5, A.2.6), offered to
 * the plugins before KVM builds the exit.
 */
export interface TagAccessFault {
  readonly vcpu: number;
  /** Faulting IPA, not page-aligned (the L1 IPA under nesting). */
  readonly ipa: bigint;
  readonly op: AccessOp;
  /** ESR_EL2 as the hardware reported it (TagAccess is bit 41). */
  readonly esr: bigint;
  readonly memslot: FaultMemslot;
  /** The memslot's backing as the scenario named it (CONTRACT §1.2), `none` without a memslot. */
  readonly backing: string;
  readonly stage2: FaultStage2Entry;
  /** 1: the VM's own guest; 2: a nested (L2) guest (DOMAIN A.2.8). */
  readonly nesting_level: number;
}

/**
 * The tag-storage pool as a plugin may see it. The mmu owns the pool and does the allocation when
 * a plugin answers `allocate-tags-and-retry`; this view only tells whether that can succeed.
 */
export interface TagStorageView {
  /** Pages left in the pool. */
  readonly remaining: number;
  /** Pages already given to guest pages in this run. */
  readonly allocatedPages: number;
  /** Whether `pages` pages (default 1) can be allocated now. */
  canAllocate(pages?: number): boolean;
  /** Whether the page holding `ipa` already has tag storage. */
  hasTagStorage(ipa: bigint): boolean;
}

/** Read-only context of one decision. Every object here is frozen. */
export interface FaultPolicyContext {
  /** The kernel profile of the run (DOMAIN A.1). */
  readonly kernel: string;
  /** Same as `tagStorage.remaining`. */
  readonly tagPoolRemaining: number;
  /** Tag-access faults taken in this run, the one being decided included. */
  readonly faultsSeen: number;
  readonly tagStorage: TagStorageView;
}

/** A fault-policy plugin. */
export interface FaultPolicy {
  /** Unique, stable name: recorded in RunStarted, PolicyDecided and PluginFailed. */
  readonly name: string;
  /** The plugin's version (semver recommended). */
  readonly version: string;
  /**
   * Hook `decide` (first-wins, synchronous): the decision for one tag-access fault. Must return
   * within the chain's time budget (100 ms by default) and must not throw; otherwise it is
   * recorded as `PluginFailed` and skipped. `fault` and `ctx` are frozen.
   */
  decide(fault: TagAccessFault, ctx: FaultPolicyContext): PolicyDecision;
}

/** The plugin hooks, by name (PluginFailed.hook). */
export type PluginHook = 'decide' | 'load';

/**
 * Why a plugin's hook was skipped (PluginFailed.reason). `tampered`: the call changed shared
 * built-ins (Object.prototype and the like); the changes were undone and the answer ignored.
 * `exited`: it called `process.exit` / `abort` / `kill`, which was refused. `denied`: under
 * `--sandbox`, Node's permission model refused it an API (the message names the permission).
 */
export type PluginFailureReason = 'threw' | 'invalid-decision' | 'timeout' | 'tampered' | 'exited' | 'denied';
