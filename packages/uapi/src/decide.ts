import type { MteEvent } from '@mteperm/events';
import { checkExtension } from './capability';
import type { UapiCommand } from './commands';
import { mteCopyTags } from './copy-tags';
import { createVcpu } from './create-vcpu';
import { createVm } from './create-vm';
import { enableCap } from './enable-cap';
import { UapiError } from './errors';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { setUserMemoryRegion } from './memslot-checks';
import { checkMigration } from './migration';
import type { VmState } from './vm-state';

export interface DecideContext {
  readonly kernel: KernelProfile;
  readonly host: HostCaps | undefined;
}

function needHost(ctx: DecideContext): HostCaps {
  if (ctx.host === undefined) throw new UapiError('MTEPERM_UAPI_NO_HOST', 'no HostCpusProbed event seen yet: the host CPUs must be probed first');
  return ctx.host;
}

function needVm(vm: VmState | undefined, what: string): VmState {
  if (vm === undefined) throw new UapiError('MTEPERM_UAPI_NO_VM', `${what} needs a VM: create_vm has not succeeded`);
  return vm;
}

/**
 * The uapi decider: what the kernel answers to one ioctl, as the event that records it. Pure: the
 * same command, VM state and context always give the same events.
 */
export function decide(command: UapiCommand, vm: VmState | undefined, ctx: DecideContext): readonly MteEvent[] {
  const host = needHost(ctx);
  switch (command.kind) {
    case 'create_vm':
      return [{ type: 'VmCreated', data: createVm(command) }];
    case 'check_extension':
      return [{ type: 'CapabilityChecked', data: { cap: command.cap, cap_name: command.cap_name, ret: BigInt(checkExtension(command.cap, host, ctx.kernel)) } }];
    case 'enable_cap':
      return [{ type: 'CapabilityEnabled', data: enableCap(command, needVm(vm, 'enable_cap'), host, ctx.kernel) }];
    case 'set_user_memory_region':
      return [setUserMemoryRegion(command, needVm(vm, 'set_user_memory_region'), host, ctx.kernel)];
    case 'create_vcpu':
      return [{ type: 'VcpuCreated', data: createVcpu(command, needVm(vm, 'create_vcpu'), host) }];
    case 'mte_copy_tags':
      return [{ type: 'MteTagsCopied', data: mteCopyTags(command, needVm(vm, 'KVM_ARM_MTE_COPY_TAGS'), host, ctx.kernel) }];
    case 'migrate':
      return [{ type: 'MigrationChecked', data: checkMigration(needVm(vm, 'migrate'), command.target, ctx.kernel).event }];
  }
}
