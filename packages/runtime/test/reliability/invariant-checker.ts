/**
 * An independent fold of a run's events that checks the security invariants of issue 11, event by
 * event, whatever the order of memslot changes, faults, relaxes, splits and policies:
 *
 * - S2 (every profile): every stage-2 leaf KVM installs lies inside a memslot that exists at that
 *   moment and points at that memslot's host pages (KVM flushes the stage 2 of a deleted or moved
 *   slot, kvm_arch_flush_shadow_memslot); with MTE enabled (kvm_has_mte), a leaf that is tagged
 *   Normal WB (MemAttr 0b1111, or 0b0110/0b0111 with FWB; DOMAIN B §4.2) covers only tag-capable
 *   pages: the VMA has VM_MTE_ALLOWED, or a policy gave that host page tag storage (A.2.7).
 * - SAN: with MTE enabled, every page of a tagged Normal leaf had its tags sanitised
 *   (Stage2MapRequested.sanitise_tags, or schema 1's TagsSanitised; PG_mte_tagged) before the leaf was installed, so before the guest's first access.
 * - TAG: with MTE enabled, no access that reads or writes allocation tags (ldg…dc_gzva, or a checked
 *   access with tcf ≠ none, stage 1 tagged: DOMAIN A.2.5/A.2.6) completes on a host page without tag
 *   storage; the only memory it may complete on is device memory (PFNMAP non-cacheable), which the
 *   architecture never treats as Allocation Tagged (DOMAIN B §1.2, §4.2), so no tag storage is reached.
 * - OWN: every completed access reaches a host page of a memslot that exists, and a level-1
 *   access reaches exactly the page its memslot maps its IPA to.
 *
 * Host addresses are derived here from README "Model decisions" (each memslot gets a 1 GiB-aligned
 * host region in creation order; RAM/page cache from 0x8_0000_0000, PFNMAP from 0x400_0000_0000),
 * not read from the model.
 */
import { LEVEL_SIZE, PAGE_SIZE, PUD_SIZE, TAG_CHECKED_OPS, TAG_OPS as ARCH_TAG_OPS } from '@mteperm/arm64';
import type { Envelope } from '@mteperm/events';

const HOST_RAM_BASE = 0x8_0000_0000;
const HOST_PFNMAP_BASE = 0x400_0000_0000;
// The architecture's facts come from @mteperm/arm64; the host layout above is restated on purpose.
const GiB = PUD_SIZE;
const PAGE = PAGE_SIZE;
const TAG_OPS: ReadonlySet<string> = ARCH_TAG_OPS;
const CHECKED_OPS: ReadonlySet<string> = TAG_CHECKED_OPS;

interface Slot {
  slot: number;
  base: number;
  size: number;
  mteAllowed: boolean;
  device: boolean;
  backing: string;
  host: number;
}

/** Half-open intervals, merged: the host pages whose tags were sanitised. */
class IntervalSet {
  private readonly iv: Array<[number, number]> = [];
  add(start: number, end: number): void {
    const out: Array<[number, number]> = [];
    let s = start;
    let e = end;
    for (const [a, b] of this.iv) {
      if (b < s || a > e) out.push([a, b]);
      else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    out.push([s, e]);
    out.sort((x, y) => x[0] - y[0]);
    this.iv.splice(0, this.iv.length, ...out);
  }
  covers(start: number, end: number): boolean {
    return this.iv.some(([a, b]) => a <= start && end <= b);
  }
}

export class InvariantChecker {
  readonly violations: string[] = [];
  profile = 'v2';
  hostMte = false;
  fwb = false;
  mteEnabled = false;
  private readonly slots = new Map<number, Slot>();
  private nextRam = HOST_RAM_BASE;
  private nextPfnmap = HOST_PFNMAP_BASE;
  private readonly tagStorage = new Set<number>(); // host page numbers given tag storage
  private readonly sanitised = new IntervalSet();
  private readonly request = new Map<number, { tcf: string; s1: string; level: number; gpa: bigint }>();
  /** How many leaves / completed accesses / tag-effect completions were checked. */
  readonly counts = { leaves: 0, taggedLeaves: 0, completed: 0, tagCompleted: 0 };

  get kvmHasMte(): boolean {
    return this.hostMte && this.mteEnabled;
  }

  private fail(e: Envelope, what: string): void {
    if (this.violations.length < 20) this.violations.push(`seq ${e.seq} ${e.type}: ${what}`);
  }

  private slotAtIpa(ipa: number): Slot | undefined {
    for (const s of this.slots.values()) if (ipa >= s.base && ipa < s.base + s.size) return s;
    return undefined;
  }

  private slotAtHost(pa: number): Slot | undefined {
    for (const s of this.slots.values()) if (pa >= s.host && pa < s.host + s.size) return s;
    return undefined;
  }

  private hasTags(s: Slot, pa: number): boolean {
    return s.mteAllowed || this.tagStorage.has(Math.floor(pa / PAGE));
  }

  private taggedNormal(memattr: number): boolean {
    return this.fwb ? memattr === 0b0110 || memattr === 0b0111 : memattr === 0b1111;
  }

  private leaf(e: Envelope, ipa: number, level: number, desc: bigint): void {
    this.counts.leaves++;
    const size = LEVEL_SIZE[level]!;
    const pa = Number(desc & 0x0000_ffff_ffff_f000n);
    const memattr = Number((desc >> 2n) & 0xfn);
    const slot = this.slotAtIpa(ipa);
    if (slot === undefined || ipa + size > slot.base + slot.size) {
      this.fail(e, `leaf [0x${ipa.toString(16)}, +0x${size.toString(16)}) is not inside a live memslot`);
      return;
    }
    if (pa !== slot.host + (ipa - slot.base)) {
      this.fail(e, `leaf at 0x${ipa.toString(16)} points at 0x${pa.toString(16)}, not slot ${slot.slot}'s page 0x${(slot.host + ipa - slot.base).toString(16)}`);
    }
    if (!this.kvmHasMte || !this.taggedNormal(memattr)) return;
    this.counts.taggedLeaves++;
    if (!slot.mteAllowed && !(size === PAGE && this.tagStorage.has(pa / PAGE))) {
      this.fail(e, `tagged Normal leaf (MemAttr 0b${memattr.toString(2)}) at 0x${ipa.toString(16)} size 0x${size.toString(16)} on ${slot.backing} without tag storage`);
    }
    if (!this.sanitised.covers(pa, pa + size)) {
      this.fail(e, `tagged Normal leaf at 0x${ipa.toString(16)} (pa 0x${pa.toString(16)}, size 0x${size.toString(16)}) installed before its tags were sanitised`);
    }
  }

  apply(e: Envelope): void {
    switch (e.type) {
      case 'RunStarted':
        this.profile = e.data.kernel;
        break;
      case 'HostCpusProbed':
        this.hostMte = e.data.mte >= 2;
        this.fwb = e.data.s2fwb;
        break;
      case 'CapabilityEnabled':
        if (e.data.ret === 0 && e.data.cap_name === 'KVM_CAP_ARM_MTE') this.mteEnabled = true;
        break;
      case 'MemslotRegistered': {
        const d = e.data;
        const old = this.slots.get(d.slot);
        switch (d.change) {
          case 'create': {
            const size = Number(d.memory_size);
            const host = d.vma.pfnmap ? this.nextPfnmap : this.nextRam;
            if (d.vma.pfnmap) this.nextPfnmap += Math.ceil(size / GiB) * GiB;
            else this.nextRam += Math.ceil(size / GiB) * GiB;
            this.slots.set(d.slot, { slot: d.slot, base: Number(d.guest_phys_addr), size, mteAllowed: d.vma.mte_allowed, device: d.vma.pfnmap && !d.vma.cacheable, backing: d.vma.backing, host });
            break;
          }
          case 'move':
            if (old !== undefined) old.base = Number(d.guest_phys_addr);
            break;
          case 'delete':
            this.slots.delete(d.slot);
            break;
          default:
            break;
        }
        break;
      }
      case 'TagsSanitised': // schema 1
        this.sanitised.add(Number(e.data.pa), Number(e.data.pa + e.data.size));
        break;
      case 'Stage2MapRequested': // schema 2: the fault path's map clears the tags it installs
        if (e.data.sanitise_tags === true) this.sanitised.add(Number(e.data.pa), Number(e.data.pa + e.data.size));
        break;
      case 'TagStorageAllocated': {
        const slot = this.slotAtIpa(Number(e.data.ipa));
        const pa = Number(e.data.pa);
        if (slot === undefined || pa !== slot.host + (Number(e.data.ipa) - slot.base)) this.fail(e, `tag storage for ipa 0x${e.data.ipa.toString(16)} given to pa 0x${pa.toString(16)}, not its memslot's page`);
        for (let i = 0; i < Number(e.data.pages); i++) this.tagStorage.add(pa / PAGE + i);
        break;
      }
      case 'Stage2Mapped':
      case 'Stage2Relaxed':
        if (e.vm !== 0) this.leaf(e, Number(e.data.ipa), e.data.level, e.data.desc);
        break;
      case 'AccessRequested':
        this.request.set(e.vcpu, { tcf: e.data.tcf, s1: e.data.s1, level: e.data.level, gpa: e.data.gpa });
        break;
      case 'AccessCompleted': {
        this.counts.completed++;
        const req = this.request.get(e.vcpu);
        const level = e.data.level ?? 1;
        const pa = Number(e.data.pa);
        const slot = this.slotAtHost(pa);
        if (slot === undefined) {
          this.fail(e, `${e.data.op} at 0x${e.data.gpa.toString(16)} completed on host page 0x${pa.toString(16)} of no live memslot`);
          return;
        }
        if (level === 1) {
          const at = this.slotAtIpa(Number(e.data.gpa));
          if (at !== slot || pa !== slot.host + (Number(e.data.gpa) - slot.base)) {
            this.fail(e, `${e.data.op} at IPA 0x${e.data.gpa.toString(16)} reached pa 0x${pa.toString(16)}, not its memslot's page`);
          }
        }
        // Only the guest's own access (not the nested package's lookup of an L1 IPA) carries its op's tag effect.
        if (req === undefined || req.level !== level || (level === 1 && req.gpa !== e.data.gpa)) return;
        const tagEffect = req.s1 === 'tagged' && (TAG_OPS.has(e.data.op) || (CHECKED_OPS.has(e.data.op) && req.tcf !== 'none'));
        if (!tagEffect || !this.kvmHasMte) return;
        this.counts.tagCompleted++;
        if (!this.hasTags(slot, pa) && !slot.device) {
          this.fail(e, `${e.data.op} (tcf ${req.tcf}) at 0x${e.data.gpa.toString(16)} completed on ${slot.backing} page 0x${pa.toString(16)} without tag storage`);
        }
        if (this.hasTags(slot, pa) && !slot.device && !this.sanitised.covers(Math.floor(pa / PAGE) * PAGE, Math.floor(pa / PAGE) * PAGE + PAGE)) {
          this.fail(e, `${e.data.op} at 0x${e.data.gpa.toString(16)} reached tags of page 0x${pa.toString(16)} that were never sanitised`);
        }
        break;
      }
      default:
        break;
    }
  }
}
