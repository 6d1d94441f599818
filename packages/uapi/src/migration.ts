import type { EventData, MteEvent } from '@mteperm/events';
import type { EnableCap, SetUserMemoryRegion } from './commands';
import { enableCap } from './enable-cap';
import { errnoName } from './errno';
import type { ErrnoName } from './errno';
import { hostCapsOf } from './host';
import type { KernelProfile } from './kernel-profile';
import { setUserMemoryRegion } from './memslot-checks';
import { evolveVm, initialVmState } from './vm-state';
import type { SetupStep, VmState } from './vm-state';

/** The first re-run step that failed on the target (CONTRACT §3). */
export interface MigrationFailure {
  readonly step: number;
  readonly op: 'enable_cap' | 'set_user_memory_region';
  readonly cap?: string;
  readonly slot?: number;
  readonly ret: number;
  readonly errno: ErrnoName | undefined;
}

export interface MigrationResult {
  readonly accepted: boolean;
  readonly failed: MigrationFailure | null;
}

function commandOf(s: SetupStep): EnableCap | SetUserMemoryRegion {
  const step = s.step === undefined ? {} : { step: s.step };
  if (s.op === 'enable_cap') return { kind: 'enable_cap', cap: s.cap, cap_name: s.cap_name, flags: s.flags, args: s.args, ...step };
  return { kind: 'set_user_memory_region', slot: s.slot, guest_phys_addr: s.guest_phys_addr, memory_size: s.memory_size, flags: s.flags, vma: s.vma, ...step };
}

/**
 * Whether the VM as configured can be restored on `target` (DOMAIN A.2.9, B §3.4, CONTRACT §1.5):
 * a fresh VM of the same IPA size on the target re-runs every successful enable_cap and memslot
 * change in the original order, under the same kernel profile; the first refusal rejects the
 * migration. A step recorded without a scenario index is reported by its position in the setup.
 */
export function checkMigration(vm: VmState, target: EventData<'HostCpusProbed'>, profile: KernelProfile): { event: EventData<'MigrationChecked'>; result: MigrationResult } {
  const host = hostCapsOf(target);
  let sim = initialVmState(vm.ipaBits);
  for (let i = 0; i < vm.setup.length; i++) {
    const s = vm.setup[i]!;
    const cmd = commandOf(s);
    const event: MteEvent =
      cmd.kind === 'enable_cap' ? { type: 'CapabilityEnabled', data: enableCap(cmd, sim, host, profile) } : setUserMemoryRegion(cmd, sim, host, profile);
    const ret = event.type === 'CapabilityEnabled' ? event.data.ret : event.type === 'MemslotRefused' ? event.data.ret : 0;
    if (ret !== 0) {
      const step = s.step ?? i;
      const failed: MigrationFailure =
        s.op === 'enable_cap'
          ? { step, op: s.op, cap: s.cap_name === '' ? String(s.cap) : s.cap_name, ret, errno: errnoName(ret) }
          : { step, op: s.op, slot: s.slot, ret, errno: errnoName(ret) };
      return {
        result: { accepted: false, failed },
        event: {
          target_cpus: target.cpus,
          accepted: false,
          failed_step: step,
          failed_op: s.op,
          failed_cap: failed.cap ?? '',
          ...(failed.slot === undefined ? {} : { failed_slot: failed.slot }),
          ret,
        },
      };
    }
    sim = evolveVm(sim, event, -1);
  }
  return { result: { accepted: true, failed: null }, event: { target_cpus: target.cpus, accepted: true, failed_op: '', failed_cap: '', ret: 0 } };
}

/** The CONTRACT §3 migrate result recorded by a MigrationChecked event. */
export function migrationResultOf(d: EventData<'MigrationChecked'>): MigrationResult {
  if (d.accepted) return { accepted: true, failed: null };
  const op = d.failed_op === 'enable_cap' ? 'enable_cap' : 'set_user_memory_region';
  const failed: MigrationFailure = {
    step: d.failed_step ?? 0,
    op,
    ...(op === 'enable_cap' ? { cap: d.failed_cap } : {}),
    ...(d.failed_slot === undefined ? {} : { slot: d.failed_slot }),
    ret: d.ret,
    errno: errnoName(d.ret),
  };
  return { accepted: false, failed };
}
