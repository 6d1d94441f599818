import { PAGE_SIZE } from '@mteperm/arm64';
import type { Envelope, Vma } from '@mteperm/events';
import { HostMemory, HostRegion } from './host-memory';
import type { KernelProfile } from './profile';
import { isKernelProfile } from './profile';


export interface MemslotView {
  readonly slot: number;
  base: number;
  size: number;
  flags: number;
  vma: Vma;
  readonly host: HostRegion;
}

/**
 * What the fault path needs to know, folded from the events other packages publish: the kernel
 * profile, the host's capabilities, the VM's enabled capabilities, its memslots and the host pages
 * already tagged. Replaying the same events rebuilds the same state.
 */
export class MmuState {
  profile: KernelProfile = 'v2';
  /** ARM64_MTE: every CPU has MTE2 or later. */
  hostMte = false;
  /** ARM64_MTE_PERM: every CPU has FEAT_MTE_PERM. */
  hostMtePerm = false;
  hostS2fwb = false;
  mteEnabled = false;
  mtePermEnabled = false;
  /** KVM_CAP_ARM_NISV_TO_USER enabled: an MMIO access with ISV = 0 exits KVM_EXIT_ARM_NISV (DOMAIN A.3.4). */
  nisvToUser = false;
  ipaBits = 40;
  tagPoolRemaining = 64;
  tagAccessFaults = 0;
  readonly memslots: MemslotView[] = [];
  /** Guest pages (IPA >> 12) that a policy gave tag storage (DOMAIN A.2.7). */
  readonly tagStoragePages = new Set<number>();
  private readonly hostMemory = new HostMemory();
  // 2 ** ipaBits for the fault path, recomputed only when ipaBits changes (it is a plain field).
  private limitBits = -1;
  private limit = 0;

  /** 2^ipaBits: the first IPA outside the VM's IPA space. */
  ipaLimit(): number {
    if (this.limitBits !== this.ipaBits) {
      this.limitBits = this.ipaBits;
      this.limit = 2 ** this.ipaBits;
    }
    return this.limit;
  }

  /** kvm_has_mte(kvm) (DOMAIN B §3.1). */
  get kvmHasMte(): boolean {
    return this.hostMte && this.mteEnabled;
  }

  /**
   * Whether NoTagAccess may be used for this VM: v2 needs the capability enabled on a host with
   * ARM64_MTE_PERM (kvm_has_mte_perm, DOMAIN B §3.2); v1 uses it whenever the host supports it
   * (DOMAIN A.1; on a host without it v1's stage2_set_prot_attr refuses, which the uapi reports);
   * baseline and drop-check never.
   */
  get noTagAccessAllowed(): boolean {
    switch (this.profile) {
      case 'v2':
        return this.hostMtePerm && this.mtePermEnabled;
      case 'v1':
        return this.hostMtePerm;
      default:
        return false;
    }
  }

  findMemslot(ipa: number): MemslotView | undefined {
    for (const m of this.memslots) if (ipa >= m.base && ipa < m.base + m.size) return m;
    return undefined;
  }

  evolve(e: Envelope): void {
    switch (e.type) {
      case 'RunStarted':
        if (isKernelProfile(e.data.kernel)) this.profile = e.data.kernel;
        this.tagPoolRemaining = Number(e.data.tag_pool_pages);
        break;
      case 'HostCpusProbed':
        this.hostMte = e.data.mte >= 2;
        this.hostMtePerm = e.data.mte_perm;
        this.hostS2fwb = e.data.s2fwb;
        break;
      case 'VmCreated':
        // ipa_bits 0 asks for the default 40-bit IPA space (KVM_VM_TYPE_ARM_IPA_SIZE).
        if (e.data.ret === 0) this.ipaBits = e.data.ipa_bits === 0 ? 40 : e.data.ipa_bits;
        break;
      case 'CapabilityEnabled':
        if (e.data.ret !== 0) break;
        if (e.data.cap_name === 'KVM_CAP_ARM_MTE') this.mteEnabled = true;
        if (e.data.cap_name === 'KVM_CAP_ARM_MTE_PERM') this.mtePermEnabled = true;
        if (e.data.cap_name === 'KVM_CAP_ARM_NISV_TO_USER') this.nisvToUser = true;
        break;
      case 'MemslotRegistered':
        this.applyMemslot(e.data);
        break;
      case 'Stage2MapRequested':
        // The fault path's map of a tagged Normal mapping cleared its pages' tags (schema 2).
        if (e.data.sanitise_tags === true) this.markTagged(Number(e.data.pa), Number(e.data.size));
        break;
      case 'TagsSanitised':
        // The same, as schema 1 recorded it.
        this.markTagged(Number(e.data.pa), Number(e.data.size));
        break;
      case 'TagStorageAllocated':
        this.tagPoolRemaining = Number(e.data.pool_remaining);
        for (let i = 0n; i < e.data.pages; i++) this.tagStoragePages.add(Number((e.data.ipa >> 12n) + i));
        break;
      case 'Stage2FaultTaken':
        if (e.data.tag_access) this.tagAccessFaults++;
        break;
      default:
        break;
    }
  }

  private markTagged(pa: number, size: number): void {
    this.regionOfHost(pa)?.markTagged(pa, size);
  }

  regionOfHost(pa: number): HostRegion | undefined {
    for (const m of this.memslots) if (pa >= m.host.base && pa < m.host.base + m.host.size) return m.host;
    return undefined;
  }

  private applyMemslot(d: Envelope<Extract<import('@mteperm/events').MteEvent, { type: 'MemslotRegistered' }>>['data']): void {
    const i = this.memslots.findIndex((m) => m.slot === d.slot);
    switch (d.change) {
      case 'create': {
        const vma = d.vma;
        const size = Number(d.memory_size);
        const view: MemslotView = { slot: d.slot, base: Number(d.guest_phys_addr), size, flags: d.flags, vma, host: this.hostMemory.allocate(size, vma.pfnmap) };
        if (i >= 0) this.memslots.splice(i, 1);
        this.memslots.push(view);
        this.memslots.sort((a, b) => a.base - b.base);
        break;
      }
      case 'move':
        if (i >= 0) {
          // Tag storage belongs to the host pages, which move with the slot (same VMA).
          this.moveTagStorage(this.memslots[i]!, Number(d.guest_phys_addr));
          this.memslots[i]!.base = Number(d.guest_phys_addr);
          this.memslots[i]!.flags = d.flags;
          this.memslots.sort((a, b) => a.base - b.base);
        }
        break;
      case 'flags_only':
        if (i >= 0) this.memslots[i]!.flags = d.flags;
        break;
      case 'delete':
        if (i >= 0) {
          // The slot's host pages leave the VM, and their tag storage with them: a later slot at
          // these IPAs is other memory (kvm_arch_flush_shadow_memslot drops the mappings too).
          this.moveTagStorage(this.memslots[i]!, undefined);
          this.memslots.splice(i, 1);
        }
        break;
    }
  }

  /** Re-keys (or, with `to` undefined, drops) the tag-storage pages of `m`'s IPA range. */
  private moveTagStorage(m: MemslotView, to: number | undefined): void {
    if (this.tagStoragePages.size === 0) return;
    const first = m.base / PAGE_SIZE;
    const pages = [...this.tagStoragePages].filter((p) => p >= first && p < first + m.size / PAGE_SIZE);
    for (const p of pages) this.tagStoragePages.delete(p);
    if (to !== undefined) for (const p of pages) this.tagStoragePages.add(p - first + to / PAGE_SIZE);
  }
}
