/**
 * The nested package's state as a fold of events (ARCHITECTURE "Event flow"): the host's FWB /
 * FEAT_MTE_PERM / NV, each VM's KVM_CAP_ARM_MTE_PERM and RAM memslots, its EL2 vCPUs, each guest
 * hypervisor's stage 2 (GuestStage2Written), each shadow stage 2 (ShadowStage2Mapped /
 * ShadowStage2Invalidated), and a mirror of L0's stage 2 folded from pgtable's events (L0Stage2Mirror). Replaying a
 * log through `evolve` rebuilds all of it exactly; the live adapter applies its own events through
 * the same `evolve`.
 */
import type { Envelope, EventData } from '@mteperm/events';
import { L0Stage2Mirror } from './l0-mirror';
import { GUEST_IPA_BITS, type GuestS2Ap, type GuestS2Attr, type GuestS2Regs } from './guest-descriptor';
import { createTranslationTable, descToBigInt, type Stage2Host, type TranslationTable, type WalkResult } from '@mteperm/arm64';
import { GuestStage2Table, type GuestLeafWritten, type GuestWalkResult } from './guest-stage2-table';
import { GuestTableMemory } from './guest-table-memory';

const CAP_MTE_PERM = 'KVM_CAP_ARM_MTE_PERM';

/** One EL2 vCPU: a guest hypervisor with its stage 2 for L2 and the shadow of it. */
export class GuestHypervisor {
  /** L1's stage 2, once the guest hypervisor wrote one (virtual HCR_EL2.VM = 1). */
  table: GuestStage2Table | undefined;
  /** Shadow stage 2 keyed by L2 IPA, output host PA, in the host's format. */
  readonly shadow: TranslationTable;
  readonly shadowWalk: WalkResult;
  guestWalk: GuestWalkResult | undefined;

  constructor(
    readonly vm: number,
    readonly vcpu: number,
    /** L1's virtual HCR_EL2.FWB (default 0) and its view of MTEPERM (DOMAIN A.2.8). */
    readonly regs: GuestS2Regs,
    host: Stage2Host,
  ) {
    const created = createTranslationTable({ ...host, ipaBits: GUEST_IPA_BITS, initialTables: 8 });
    // GUEST_IPA_BITS is within the 4 KiB granule's range, so this cannot happen.
    if (created === undefined) throw new Error(`shadow stage 2: IPA size ${GUEST_IPA_BITS} bits`);
    this.shadow = created;
    this.shadowWalk = this.shadow.createWalkResult();
  }
}

interface VmNested {
  mtePermEnabled: boolean;
  /** RAM memslots (not PFNMAP) in registration order: [slot, base, size]. */
  readonly ram: Array<[number, number, number]>;
  memory: GuestTableMemory | undefined;
  readonly hypervisors: Map<number, GuestHypervisor>;
  readonly el1Vcpus: Set<number>;
}

export class NestedState {
  host: Stage2Host & { readonly nv: boolean } = { fwb: false, mtePerm: false, nv: false };
  /** L0's stage 2 per VM, mirrored from pgtable's events on an NV host (nothing reads it elsewhere). */
  readonly l0 = new L0Stage2Mirror();
  private readonly vms = new Map<number, VmNested>();

  /** The guest hypervisor on (vm, vcpu), if that vCPU has EL2. */
  hypervisor(vm: number, vcpu: number): GuestHypervisor | undefined {
    return this.vms.get(vm)?.hypervisors.get(vcpu);
  }

  /** Whether vCPU `vcpu` of `vm` was created (with or without EL2). */
  hasVcpu(vm: number, vcpu: number): boolean {
    const v = this.vms.get(vm);
    return v !== undefined && (v.hypervisors.has(vcpu) || v.el1Vcpus.has(vcpu));
  }

  /** The guest hypervisors of `vm` in vCPU order. */
  hypervisors(vm: number): GuestHypervisor[] {
    return [...(this.vms.get(vm)?.hypervisors.values() ?? [])].sort((a, b) => a.vcpu - b.vcpu);
  }

  /** VM ids with nested state, ascending. */
  vmIds(): number[] {
    return [...this.vms.keys()].sort((a, b) => a - b);
  }

  /** L1's table memory for `vm`, placed on first use (GuestTableMemory); undefined without RAM. */
  tableMemory(vm: number): GuestTableMemory | undefined {
    const v = this.vms.get(vm);
    if (v === undefined) return undefined;
    if (v.memory === undefined && v.ram.length > 0) {
      const [, base, size] = v.ram[0]!;
      v.memory = new GuestTableMemory(base, size);
    }
    return v.memory;
  }

  evolve(e: Envelope): void {
    switch (e.type) {
      case 'HostCpusProbed':
        this.host = { fwb: e.data.s2fwb, mtePerm: e.data.mte_perm, nv: e.data.nv };
        this.l0.evolve(e);
        return;
      case 'VmCreated':
        if (e.data.ret === 0) this.vms.set(e.vm, { mtePermEnabled: false, ram: [], memory: undefined, hypervisors: new Map(), el1Vcpus: new Set() });
        this.l0.evolve(e);
        return;
      case 'CapabilityEnabled':
        if (e.data.ret === 0 && e.data.cap_name === CAP_MTE_PERM) {
          const v = this.vms.get(e.vm);
          if (v !== undefined) v.mtePermEnabled = true;
        }
        return;
      case 'MemslotRegistered':
        this.applyMemslot(e.vm, e.data);
        return;
      case 'VcpuCreated':
        this.applyVcpu(e.vm, e.data);
        return;
      case 'GuestStage2Written':
        this.applyGuestWrite(e.vm, e.vcpu, e.data);
        return;
      case 'ShadowStage2Mapped': {
        const h = this.hypervisor(e.vm, e.vcpu);
        const desc = e.data.desc;
        h?.shadow.installLeaf(Number(e.data.ipa), e.data.level, Number(desc & 0xffffffffn), Number(desc >> 32n));
        return;
      }
      case 'ShadowStage2Invalidated':
        this.hypervisor(e.vm, e.vcpu)?.shadow.unmapRange(Number(e.data.ipa), Number(e.data.size));
        return;
      case 'Stage2Mapped':
      case 'Stage2Unmapped':
      case 'Stage2Relaxed':
      case 'Stage2BlockSplit':
        // Only guest hypervisors walk the mirror, and without NV no vCPU gets EL2 (a run probes
        // the host once, before any VM): skip the copy of every L0 leaf then.
        if (this.host.nv) this.l0.evolve(e);
        return;
      default:
        return;
    }
  }

  /**
   * Writes one GuestStage2Written into L1's table (creating the table on first use) and returns
   * the entries stored. The adapter checked vCPU, alignment, range and memory before publishing.
   */
  applyGuestWrite(vm: number, vcpu: number, d: EventData<'GuestStage2Written'>): GuestLeafWritten[] {
    const h = this.hypervisor(vm, vcpu);
    const memory = this.tableMemory(vm);
    if (h === undefined || memory === undefined) return [];
    if (h.table === undefined) {
      h.table = GuestStage2Table.create(memory, h.regs);
      if (h.table === undefined) return [];
      h.guestWalk = h.table.createWalkResult();
    }
    return h.table.write(Number(d.ipa), Number(d.pa), Number(d.size), { attr: d.attr as GuestS2Attr, ap: d.ap as GuestS2Ap });
  }

  /** A canonical, JSON-ready picture of the nested state, for the run's state digest. */
  snapshot(): unknown {
    return this.vmIds().map((vm) => {
      const v = this.vms.get(vm)!;
      return {
        vm,
        table_pages: v.memory?.pageAddresses() ?? [],
        hypervisors: this.hypervisors(vm).map((h) => {
          const l1: string[] = [];
          h.table?.forEachLeaf((ipa, level, lo, hi, at) => l1.push(`${ipa.toString(16)}/${level}/${at.toString(16)}=${descToBigInt(lo, hi).toString(16)}`));
          const shadow: string[] = [];
          h.shadow.forEachLeaf((ipa, level, lo, hi) => shadow.push(`${ipa.toString(16)}/${level}=${descToBigInt(lo, hi).toString(16)}`));
          return { vcpu: h.vcpu, regs: h.regs, root: h.table?.root ?? null, l1, shadow };
        }),
      };
    });
  }

  private applyMemslot(vm: number, d: EventData<'MemslotRegistered'>): void {
    const v = this.vms.get(vm);
    if (v === undefined) return;
    const i = v.ram.findIndex(([slot]) => slot === d.slot);
    if (d.change === 'delete') {
      if (i >= 0) v.ram.splice(i, 1);
      return;
    }
    if (d.change === 'move' && i >= 0) {
      v.ram[i]![1] = Number(d.guest_phys_addr);
      return;
    }
    if (d.change === 'create' && i < 0 && !d.vma.pfnmap) v.ram.push([d.slot, Number(d.guest_phys_addr), Number(d.memory_size)]);
  }

  private applyVcpu(vm: number, d: EventData<'VcpuCreated'>): void {
    const v = this.vms.get(vm);
    if (v === undefined || d.ret !== 0) return;
    // vcpu_has_nv(): KVM_ARM_VCPU_HAS_EL2 on a host with NV (B §6.1); MTEPERM in L1's view needs
    // kvm_has_mte_perm as well (A.2.8), which cannot change once a vCPU exists (A.2.1).
    if (!d.el2 || !this.host.nv) {
      v.el1Vcpus.add(d.id);
      return;
    }
    const regs: GuestS2Regs = { fwb: false, mtePerm: this.host.mtePerm && v.mtePermEnabled };
    v.hypervisors.set(d.id, new GuestHypervisor(vm, d.id, regs, this.host));
  }
}
