// A pipeline of three mteperm packages on one bus, as an outside user composes it (README
// "Using the packages"): @mteperm/cpufeature folds the host's ID registers, @mteperm/pgtable walks
// and maps the stage 2, @mteperm/mmu handles the stage-2 faults. This program plays the VMM
// (it publishes the events the uapi package would) and one guest STG to a cacheable VFIO BAR.
//
// What it shows (DOMAIN A.2.3, A.2.5): under the v2 profile, with MTE and MTE_PERM enabled, the
// BAR is mapped Normal WB with NoTagAccess (MemAttr 0b1110 under FWB), and the STG then takes a
// permission fault with TagAccess that the policy chain hands to the VMM (`exit-to-vmm`).
import { EventBus } from '@mteperm/bus';
import { CpuFeatureAdapter, cpuFromFeatures, probeHostCpus } from '@mteperm/cpufeature';
import type { Envelope } from '@mteperm/events';
import { attachMmu } from '@mteperm/mmu';
import { attachPgtable, stage2LeavesJson } from '@mteperm/pgtable';

export interface PipelineOutcome {
  readonly events: readonly string[];
  readonly leaf: { ipa: string; memattr: string; notagaccess: boolean } | undefined;
  readonly decision: string | undefined;
  /** FEAT_MTE_PERM on every CPU of the host, as cpufeature sanitised it (DOMAIN A.2.1). */
  readonly hostMtePerm: boolean;
}

export function runPipeline(): PipelineOutcome {
  const bus = new EventBus();
  const cpus = new CpuFeatureAdapter(bus);
  const { state: stage2 } = attachPgtable(bus);
  attachMmu(bus, { policies: [] }); // no plugins: exit-to-vmm is the chain's fallback
  const seen: Envelope[] = [];
  bus.all().subscribe((e) => seen.push(e));

  const vm = 1;
  bus.publish({ type: 'RunStarted', data: { scenario: 'pipeline-example', kernel: 'v2', policies: [], tag_pool_pages: 0n } });
  bus.publish({ type: 'HostCpusProbed', data: probeHostCpus([cpuFromFeatures(['mte3', 'mte_perm', 's2fwb'])]) });
  bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm });
  for (const [cap, cap_name] of [
    [205, 'KVM_CAP_ARM_MTE'],
    [239, 'KVM_CAP_ARM_MTE_PERM'],
  ] as const) {
    bus.publish({ type: 'CapabilityEnabled', data: { cap, cap_name, flags: 0n, args: [0n, 0n, 0n, 0n], ret: 0, step: 0 } }, { vm });
  }
  bus.publish(
    {
      type: 'MemslotRegistered',
      data: {
        slot: 1,
        change: 'create',
        guest_phys_addr: 0x1000_0000n,
        memory_size: 0x100_0000n,
        flags: 0,
        vma: { backing: 'vfio-bar-wb', mte_allowed: false, pfnmap: true, shared: true, cacheable: true, hugetlb: false, userspace_addr: 0x1100_0000_0000n },
        step: 0,
      },
    },
    { vm },
  );
  bus.publish({ type: 'VcpuCreated', data: { id: 0, el2: false, ret: 0 } }, { vm, vcpu: 0 });
  bus.publish({ type: 'AccessRequested', data: { step: 0, gpa: 0x1000_0040n, op: 'stg', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm, vcpu: 0 });

  const table = stage2.table(vm);
  const leaf = table === undefined ? undefined : stage2LeavesJson(table)[0];
  const decided = seen.find((e) => e.type === 'PolicyDecided');
  return {
    events: seen.map((e) => e.type),
    leaf: leaf === undefined ? undefined : { ipa: leaf.ipa, memattr: leaf.memattr, notagaccess: leaf.notagaccess },
    decision: decided?.type === 'PolicyDecided' ? decided.data.decision : undefined,
    hostMtePerm: cpus.view.host?.mtePerm === true,
  };
}

if (require.main === module) {
  const out = runPipeline();
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
