import type { AccessOp, Envelope, MteEvent } from '@mteperm/events';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { decideGuestAbort } from './guest-abort';
import type { GuestAbort } from './guest-abort';
import { HOST_PFNMAP_BASE, HOST_RAM_BASE } from './host-memory';
import { MmuState } from './mmu-state';
import type { KernelProfile } from './profile';

type Backing = 'anon' | 'shmem' | 'hugetlb' | 'file-shared' | 'dax-pmem' | 'vfio-bar-wb' | 'vfio-bar';
const VMA: Record<Backing, { mte_allowed: boolean; pfnmap: boolean; shared: boolean; cacheable: boolean; hugetlb: boolean }> = {
  anon: { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: false },
  shmem: { mte_allowed: true, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  hugetlb: { mte_allowed: true, pfnmap: false, shared: false, cacheable: true, hugetlb: true },
  'file-shared': { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  'dax-pmem': { mte_allowed: false, pfnmap: false, shared: true, cacheable: true, hugetlb: false },
  'vfio-bar-wb': { mte_allowed: false, pfnmap: true, shared: true, cacheable: true, hugetlb: false },
  'vfio-bar': { mte_allowed: false, pfnmap: true, shared: true, cacheable: false, hugetlb: false },
};

let seq = 0n;
function env(e: MteEvent): Envelope {
  seq++;
  return { seq, vm: 0, vcpu: -1, causation: 0n, schema: 1, ...e } as Envelope;
}

interface VmSetup {
  profile?: KernelProfile;
  hostMtePerm?: boolean;
  mte?: boolean;
  mtePerm?: boolean;
  slots?: Array<{ slot: number; base: bigint; size: bigint; backing: Backing; flags?: number }>;
}

/** given: the events cpufeature and uapi would have published for this VM. */
function given(setup: VmSetup): MmuState {
  const s = new MmuState();
  const events: MteEvent[] = [
    { type: 'RunStarted', data: { scenario: 't', kernel: setup.profile ?? 'v2', policies: [], tag_pool_pages: 2n } },
    {
      type: 'HostCpusProbed',
      data: { cpus: [], sanitised: { id_aa64pfr1_el1: 0x300n, id_aa64pfr2_el1: 1n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n }, mte: 3, mte_perm: setup.hostMtePerm ?? true, s2fwb: true, nv: false },
    },
    { type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } },
  ];
  if (setup.mte ?? true) events.push({ type: 'CapabilityEnabled', data: { cap: 205, cap_name: 'KVM_CAP_ARM_MTE', flags: 0n, args: [], ret: 0 } });
  if (setup.mtePerm ?? true) events.push({ type: 'CapabilityEnabled', data: { cap: 239, cap_name: 'KVM_CAP_ARM_MTE_PERM', flags: 0n, args: [], ret: 0 } });
  for (const m of setup.slots ?? []) {
    events.push({
      type: 'MemslotRegistered',
      data: { slot: m.slot, change: 'create', guest_phys_addr: m.base, memory_size: m.size, flags: m.flags ?? 0, vma: { backing: m.backing, userspace_addr: 0n, ...VMA[m.backing] } },
    });
  }
  for (const e of events) s.evolve(env(e));
  return s;
}

function abort(ipa: number, op: AccessOp, extra: Partial<GuestAbort> = {}): GuestAbort {
  return { vcpu: 0, ipa, kind: 'translation', level: 3, tagAccess: false, op, esr: 0n, faultSeq: 7n, ...extra };
}

const RAM = { slot: 0, base: 0x8000_0000n, size: 0x2000_0000n, backing: 'anon' as Backing };
const BAR_WB = { slot: 1, base: 0x1000_0000n, size: 0x100_0000n, backing: 'vfio-bar-wb' as Backing };
const BAR = { slot: 2, base: 0x2000_0000n, size: 0x10_0000n, backing: 'vfio-bar' as Backing };

const summary = (events: readonly MteEvent[]) =>
  events.map((e) => {
    switch (e.type) {
      case 'Stage2MapRequested':
        return `map ipa=0x${e.data.ipa.toString(16)} pa=0x${e.data.pa.toString(16)} size=0x${e.data.size.toString(16)} ${e.data.mem_type}${e.data.no_tag_access ? '+NoTagAccess' : ''} ${e.data.r ? 'r' : '-'}${e.data.w ? 'w' : '-'}${e.data.x ? 'x' : '-'}${e.data.sanitise_tags === true ? ' sanitise' : ''}`;
      case 'TagsSanitised':
        return `sanitise pa=0x${e.data.pa.toString(16)} size=0x${e.data.size.toString(16)}`;
      case 'KvmRunFailed':
        return `KVM_RUN ${e.data.ret}`;
      case 'MemoryFaultExit':
        return `exit ${e.data.exit_reason} gpa=0x${e.data.gpa.toString(16)} size=0x${e.data.size.toString(16)} flags=0x${e.data.flags.toString(16)} ret=${e.data.ret}`;
      case 'PolicyDecided':
        return `policy ${e.data.plugin}: ${e.data.decision} (fault ${e.data.fault_seq})`;
      case 'InjectedAbort':
        return `inject ${e.data.kind} esr=0x${e.data.esr.toString(16)}`;
      case 'MmioExit':
        return `mmio 0x${e.data.phys_addr.toString(16)} len=${e.data.len} ${e.data.is_write ? 'write' : 'read'}`;
      default:
        return e.type;
    }
  });

describe('decideGuestAbort: translation faults (DOMAIN B §5.4 decision table)', () => {
  it('row 1: no MTE → Normal WB, no tag work, a 2 MiB THP block where aligned', () => {
    const d = decideGuestAbort(given({ mte: false, slots: [RAM] }), abort(0x8000_1000, 'write'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x80000000 pa=0x${HOST_RAM_BASE.toString(16)} size=0x200000 normal_wb rw-`]);
    expect(d.retry).toBe(true);
  });

  it('row 2: no MTE, VFIO BAR (PFNMAP, non-cacheable) → Device-nGnRE', () => {
    const d = decideGuestAbort(given({ mte: false, slots: [BAR] }), abort(0x2000_0040, 'read'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x20000000 pa=0x${HOST_PFNMAP_BASE.toString(16)} size=0x1000 device_ngnre rw-`]);
  });

  it('row 3: MTE + VM_MTE_ALLOWED → map Normal WB, sanitising the tags of the whole block once', () => {
    const s = given({ slots: [RAM] });
    const d = decideGuestAbort(s, abort(0x8000_1000, 'read'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x80000000 pa=0x800000000 size=0x200000 normal_wb rw- sanitise`]);
    // PG_mte_tagged: once the sanitise is applied, the same pages are not sanitised again
    s.evolve(env(d.events[0]!));
    expect(summary(decideGuestAbort(s, abort(0x8000_2000, 'read'), []).events)).toEqual([`map ipa=0x80000000 pa=0x800000000 size=0x200000 normal_wb rw-`]);
  });

  it('row 4/7: MTE + PERM + VFIO BAR (device) → Device-nGnRE, no tag work, no NoTagAccess (DOMAIN A.2.3)', () => {
    for (const profile of ['baseline', 'v1', 'v2', 'drop-check'] as const) {
      const d = decideGuestAbort(given({ profile, slots: [BAR] }), abort(0x2000_0000, 'write'), []);
      expect(summary(d.events)).toEqual([`map ipa=0x20000000 pa=0x40000000000 size=0x1000 device_ngnre rw-`]);
    }
  });

  it('row 5: MTE without PERM on a disallowed VMA (swapped after registration) → not mapped, reported as DisallowedVmaFault', () => {
    for (const s of [given({ profile: 'baseline', slots: [BAR_WB] }), given({ profile: 'v2', mtePerm: false, slots: [BAR_WB] }), given({ profile: 'v2', hostMtePerm: false, slots: [BAR_WB] })]) {
      const d = decideGuestAbort(s, abort(0x1000_0040, 'read'), []);
      expect(d.events).toEqual([{ type: 'DisallowedVmaFault', data: { ipa: 0x1000_0040n } }]);
      expect(d.retry).toBe(false);
    }
  });

  it('row 6: MTE + PERM + cacheable disallowed VMA → Normal WB + NoTagAccess, no tag sanitising (DOMAIN A.2.3)', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), abort(0x1000_0040, 'read'), []);
    expect(summary(d.events)).toEqual(['map ipa=0x10000000 pa=0x40000000000 size=0x200000 normal_wb+NoTagAccess rw-']);
  });

  it('row 6 for page-cache memory (virtiofs DAX window): pages, NoTagAccess', () => {
    const d = decideGuestAbort(given({ slots: [{ slot: 3, base: 0xc000_0000n, size: 0x40_0000n, backing: 'file-shared' }] }), abort(0xc000_3010, 'write'), []);
    expect(summary(d.events)).toEqual(['map ipa=0xc0003000 pa=0x800003000 size=0x1000 normal_wb+NoTagAccess rw-']);
  });

  it('row 6 under v1: NoTagAccess whenever the host has FEAT_MTE_PERM, no capability needed (DOMAIN A.1)', () => {
    const d = decideGuestAbort(given({ profile: 'v1', mtePerm: false, slots: [BAR_WB] }), abort(0x1000_0000, 'read'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x10000000 pa=0x40000000000 size=0x200000 normal_wb+NoTagAccess rw-`]);
  });

  it('v1 on a host without FEAT_MTE_PERM: not mapped, DisallowedVmaFault (the uapi answers -EINVAL, DOMAIN B §5.3)', () => {
    const d = decideGuestAbort(given({ profile: 'v1', hostMtePerm: false, slots: [BAR_WB] }), abort(0x1000_0000, 'read'), []);
    expect(summary(d.events)).toEqual(['DisallowedVmaFault']);
  });

  it('row 10 under drop-check: the first cacheable fault on a disallowed VMA is not mapped, even with PERM on the host (DOMAIN A.1)', () => {
    const d = decideGuestAbort(given({ profile: 'drop-check', slots: [BAR_WB] }), abort(0x1000_0040, 'read'), []);
    expect(summary(d.events)).toEqual(['DisallowedVmaFault']);
  });

  it('hugetlb RAM at a 1 GiB aligned IPA maps a 1 GiB block (DOMAIN B §4.1)', () => {
    const d = decideGuestAbort(given({ mte: false, slots: [{ slot: 0, base: 0x4000_0000n, size: 0x4000_0000n, backing: 'hugetlb' }] }), abort(0x4123_4000, 'read'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x40000000 pa=0x800000000 size=0x40000000 normal_wb rw-`]);
  });

  it('dirty logging forces page mappings, read faults read-only (DOMAIN B §4.1)', () => {
    const d = decideGuestAbort(given({ mte: false, slots: [{ ...RAM, flags: 1 }] }), abort(0x8000_1000, 'read'), []);
    expect(summary(d.events)).toEqual([`map ipa=0x80001000 pa=0x800001000 size=0x1000 normal_wb r--`]);
  });

  // ISV 1 with SAS 0b11 (8 bytes) and SF, as a single-register 8-byte access reports it (DOMAIN A.3.3).
  const ISV8 = { esr: 0x93c0_0047n };

  it('no memslot → KVM_EXIT_MMIO for data accesses; -ENOSYS for tag instructions (ISV=0); prefetch abort for exec', () => {
    const s = given({ slots: [RAM] });
    expect(summary(decideGuestAbort(s, abort(0x0900_0000, 'write', ISV8), []).events)).toEqual(['mmio 0x9000000 len=8 write']);
    // DOMAIN A.3.4: len is the access size (SAS), here a 2-byte store (SAS 0b01).
    expect(summary(decideGuestAbort(s, abort(0x0900_0000, 'write', { esr: 0x9340_0047n }), []).events)).toEqual(['mmio 0x9000000 len=2 write']);
    // ISV 0 for a data access too (a pair): -ENOSYS without KVM_CAP_ARM_NISV_TO_USER.
    expect(summary(decideGuestAbort(s, abort(0x0900_0000, 'write', { esr: 0x9200_0047n }), []).events)).toEqual(['KVM_RUN -38']);
    expect(summary(decideGuestAbort(s, abort(0x0900_0000, 'stg'), []).events)).toEqual(['KVM_RUN -38']);
    expect(summary(decideGuestAbort(s, abort(0x0900_0000, 'exec'), []).events)).toEqual(['inject prefetch esr=0x86000010']);
  });

  it("an IPA beyond the VM's IPA size is not looked up: an external abort is injected (DOMAIN B §5.2 abort entry)", () => {
    const s = given({ slots: [RAM] }); // VmCreated ipa_bits 40
    expect(summary(decideGuestAbort(s, abort(2 ** 40, 'read'), []).events)).toEqual(['inject sea esr=0x96000010']);
    // kvm_inject_dabt sets no WnR, also for a write (DOMAIN A.3.9).
    expect(summary(decideGuestAbort(s, abort(2 ** 40 + 0x1000, 'stg', { tagAccess: false }), []).events)).toEqual(['inject sea esr=0x96000010']);
    expect(summary(decideGuestAbort(s, abort(2 ** 40 + 0x2000, 'write', { tagAccess: false }), []).events)).toEqual(['inject sea esr=0x96000010']);
    expect(summary(decideGuestAbort(s, abort(2 ** 63, 'exec'), []).events)).toEqual(['inject prefetch esr=0x86000010']);
    // the last page inside the IPA space is an ordinary fault (no memslot: MMIO)
    expect(summary(decideGuestAbort(s, abort(2 ** 40 - 0x1000, 'read', ISV8), []).events)).toEqual([`mmio 0x${(2 ** 40 - 0x1000).toString(16)} len=8 read`]);
  });

  it('exec on device memory → -ENOEXEC → prefetch abort injected (DOMAIN B §5.3)', () => {
    expect(summary(decideGuestAbort(given({ slots: [BAR] }), abort(0x2000_0000, 'exec'), []).events)).toEqual(['inject prefetch esr=0x86000010']);
  });
});

describe('decideGuestAbort: permission faults (DOMAIN B §5.4 row 8, A.2.4)', () => {
  it('relaxes W on a write fault without touching tags or NoTagAccess', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), abort(0x1000_1000, 'write', { kind: 'permission' }), []);
    expect(d.events).toEqual([{ type: 'Stage2RelaxRequested', data: { ipa: 0x1000_1000n, r: true, w: true, x: false, sw: 0, retry_access: true } }]);
    expect(d.retry).toBe(true);
  });
});

describe('decideGuestAbort: tag-access faults (DOMAIN A.2.5, A.2.7)', () => {
  const tagFault = (op: AccessOp) => abort(0x1000_0040, op, { kind: 'permission', tagAccess: true, esr: 0x0000_0200_9200_004fn });

  it('no policy configured: the exit-to-vmm fallback decides, the fault is not retried (the uapi builds the exit, DOMAIN A.2.5)', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), tagFault('stg'), []);
    expect(d.events).toEqual([{ type: 'PolicyDecided', data: { ipa: 0x1000_0040n, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: 7n } }]);
    expect(d.retry).toBe(false);
  });

  const policy = (name: string, decide: FaultPolicy['decide']): FaultPolicy => ({ name, version: '0', decide });

  it('allocate-tags-and-retry: takes a pool page, sanitises it and remaps the page tagged Normal WB', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), tagFault('stg'), [policy('alloc', () => ({ kind: 'allocate-tags-and-retry' }))]);
    expect(summary(d.events)).toEqual([
      'policy alloc: allocate-tags-and-retry (fault 7)',
      'TagStorageAllocated',
      'map ipa=0x10000000 pa=0x40000000000 size=0x1000 normal_wb rw- sanitise',
    ]);
    expect(d.events[1]).toEqual({ type: 'TagStorageAllocated', data: { ipa: 0x1000_0000n, pa: 0x400_0000_0000n, pages: 1n, pool_remaining: 1n } });
    expect(d.retry && d.retriedByPolicy).toBe(true);
  });

  it('allocate-tags-and-retry with an empty pool passes to the next policy, then the fallback', () => {
    const s = given({ slots: [BAR_WB] });
    s.tagPoolRemaining = 0;
    const d = decideGuestAbort(s, tagFault('stg'), [policy('alloc', () => ({ kind: 'allocate-tags-and-retry' }))]);
    expect(summary(d.events)).toEqual(['policy alloc: pass (fault 7)', 'policy exit-to-vmm: exit-to-vmm (fault 7)']);
  });

  // kvm_inject_dabt (v6.13 inject_abt64): EC 0x25, IL = 1, DFSC 0b010000; ISV, WnR, EA, ISS2 all 0,
  // whatever the op: one ESR_EL1 for every tag access from EL1 (DOMAIN A.3.9). Before issue 18 STG
  // got WnR = 1 (0x96000050) from a tag-write set that also left out DC GVA.
  it.each(['ldg', 'ldgm', 'stg', 'st2g', 'stgm', 'dc_gva', 'dc_gzva', 'checked_read', 'checked_write'] as const)(
    'inject-sea on %s: ESR_EL1 0x96000010, no WnR (DOMAIN A.3.9)',
    (op) => {
      const d = decideGuestAbort(given({ slots: [BAR_WB] }), tagFault(op), [policy('sea', () => ({ kind: 'inject-sea' }))]);
      expect(summary(d.events)).toEqual(['policy sea: inject-sea (fault 7)', 'inject sea esr=0x96000010']);
      expect(d.events[1]).toEqual({ type: 'InjectedAbort', data: { kind: 'sea', ipa: 0x1000_0040n, esr: 0x9600_0010n, target_level: 1 } });
    },
  );

  it('a throwing or garbage-returning policy is recorded as PluginFailed and skipped; first non-pass wins', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), tagFault('stg'), [
      policy('thrower', () => {
        throw new Error('nope');
      }),
      policy('garbage', () => ({ kind: 'reboot' }) as never),
      policy('passer', () => ({ kind: 'pass' })),
      policy('sea', () => ({ kind: 'inject-sea' })),
      policy('never', () => ({ kind: 'exit-to-vmm' })),
    ]);
    expect(d.events.filter((e) => e.type === 'PluginFailed').map((e) => e.data)).toEqual([
      { plugin: 'thrower', hook: 'decide', reason: 'threw', message: 'Error: nope' },
      { plugin: 'garbage', hook: 'decide', reason: 'invalid-decision', message: 'decide() returned {"kind":"reboot"}' },
    ]);
    expect(summary(d.events.filter((e) => e.type !== 'PluginFailed'))).toEqual(['policy passer: pass (fault 7)', 'policy sea: inject-sea (fault 7)', 'inject sea esr=0x96000010']);
  });

  it('a policy cannot mutate the fault or the context it is given', () => {
    const d = decideGuestAbort(given({ slots: [BAR_WB] }), tagFault('stg'), [
      policy('mutator', (fault, ctx) => {
        (fault as { ipa: bigint }).ipa = 0n;
        return ctx as never;
      }),
    ]);
    expect(d.events[0]).toEqual({ type: 'PluginFailed', data: { plugin: 'mutator', hook: 'decide', reason: 'threw', message: expect.stringMatching(/^TypeError: Cannot assign to read only property 'ipa'/) } });
    expect(summary(d.events).at(-1)).toBe('policy exit-to-vmm: exit-to-vmm (fault 7)');
  });

  it('after a page got tag storage, a fresh fault maps that page tagged and its neighbours NoTagAccess page by page', () => {
    const s = given({ slots: [BAR_WB] });
    s.evolve(env({ type: 'TagStorageAllocated', data: { ipa: 0x1000_0000n, pa: 0x400_0000_0000n, pages: 1n, pool_remaining: 1n } }));
    expect(summary(decideGuestAbort(s, abort(0x1000_0000, 'read'), []).events)).toEqual([
      'map ipa=0x10000000 pa=0x40000000000 size=0x1000 normal_wb rw- sanitise',
    ]);
    expect(summary(decideGuestAbort(s, abort(0x1000_1000, 'read'), []).events)).toEqual(['map ipa=0x10001000 pa=0x40000001000 size=0x1000 normal_wb+NoTagAccess rw-']);
  });
});
