import type { Envelope, MteEvent } from '@mteperm/events';
import { SAMPLE_EVENTS } from '@mteperm/events/testing';
import { NestedState } from './nested-state';

let seq = 0n;
const env = (event: MteEvent, vm = 1, vcpu = 0): Envelope => ({ seq: ++seq, vm, vcpu, causation: 0n, schema: 1, ...event }) as Envelope;

/** Folds a host, a VM with one vCPU and one L0 leaf; returns the leaves of the L0 mirror. */
function mirrorAfterOneLeaf(nv: boolean): { vcpuHasEl2: boolean; l0: readonly { ipa: bigint; level: number; desc: bigint }[] } {
  const s = new NestedState();
  s.evolve(env({ type: 'HostCpusProbed', data: { ...SAMPLE_EVENTS.HostCpusProbed.data, s2fwb: true, mte_perm: true, nv } }, 0));
  s.evolve(env({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }));
  s.evolve(env({ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }));
  s.evolve(env({ type: 'Stage2Mapped', data: { ipa: 0x1000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_17dbn } }));
  return { vcpuHasEl2: s.hypervisor(1, 0) !== undefined, l0: s.l0.table(1)?.leafDescriptors() ?? [] };
}

describe('NestedState: the mirror of L0\'s stage 2', () => {
  it('is kept on an NV host, where guest hypervisors walk it', () => {
    expect(mirrorAfterOneLeaf(true)).toEqual({ vcpuHasEl2: true, l0: [{ ipa: 0x1000n, level: 3, desc: 0x0040_0008_0000_17dbn }] });
  });

  it('is not filled without NV: no vCPU gets EL2, so nothing would read it', () => {
    expect(mirrorAfterOneLeaf(false)).toEqual({ vcpuHasEl2: false, l0: [] });
  });
});
