import type { Envelope, MteEvent } from '@mteperm/events';
import { evolve, initialUapiState, type UapiState } from './vm-state';

let seq = 0n;
const env = (event: MteEvent, vm = 1, vcpu = 0): Envelope => ({ seq: ++seq, vm, vcpu, causation: 0n, schema: 1, ...event }) as Envelope;

describe('uapi state fold: exits (written out on the fault path, still immutable)', () => {
  const s0 = [
    env({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }),
    env({ type: 'VcpuCreated', data: { id: 0, el2: true, ret: 0 } }),
    env({ type: 'VcpuCreated', data: { id: 1, el2: false, ret: 0 } }),
  ].reduce(evolve, initialUapiState('v2'));

  it('records the exit on its vCPU only, keeping key order and every earlier state unchanged', () => {
    const before = JSON.stringify([...s0.vms.get(1)!.vcpus]);
    const s1 = evolve(s0, env({ type: 'MemoryFaultExit', data: { exit_reason: 39, gpa: 0x1000_0000n, size: 0x1000n, flags: 0x10n, ret: -14 } }, 1, 1));
    const s2 = evolve(s1, env({ type: 'MmioExit', data: { phys_addr: 0x900_0000n, len: 4, is_write: true } }, 1, 0));
    expect(JSON.stringify([...s0.vms.get(1)!.vcpus])).toBe(before);
    expect(s1.vms.get(1)!.vcpus.get(0)).toBe(s0.vms.get(1)!.vcpus.get(0));
    expect(s1.vms.get(1)!.vcpus.get(1)).toEqual({ el2: false, exit: { reason: 'KVM_EXIT_MEMORY_FAULT', exit_reason: 39, flags: 0x10n, gpa: 0x1000_0000n, size: 0x1000n } });
    expect(s2.vms.get(1)!.vcpus.get(0)).toEqual({ el2: true, exit: { reason: 'KVM_EXIT_MMIO', exit_reason: 6, phys_addr: 0x900_0000n, len: 4, is_write: true } });
    expect(Object.keys(s2)).toEqual(['kernel', 'host', 'vms']);
    expect(Object.keys(s2.vms.get(1)!)).toEqual(['ipaBits', 'mteEnabled', 'mtePermEnabled', 'vcpus', 'memslots', 'setup']);
    expect(Object.keys(s2.vms.get(1)!.vcpus.get(1)!)).toEqual(['el2', 'exit']);
    expect(s2.vms.get(1)!.memslots).toBe(s0.vms.get(1)!.memslots);
  });

  it('leaves the state as it is for an exit on an unknown vCPU or VM', () => {
    const exit: MteEvent = { type: 'MmioExit', data: { phys_addr: 0n, len: 8, is_write: false } };
    const same = (s: UapiState) => expect(s).toBe(s0);
    same(evolve(s0, env(exit, 1, 7)));
    same(evolve(s0, env(exit, 2, 0)));
  });
});
