import type { EventBus } from '@mteperm/bus';
import type { Envelope, EventData, MteEvent } from '@mteperm/events';
import { resolveCap } from './capability';
import type { BackingSpec } from './backing';
import { vmaForBacking } from './backing';
import type { UapiCommand } from './commands';
import { decide } from './decide';
import { fail, ioctlResult } from './errno';
import type { IoctlResult } from './errno';
import { UapiError } from './errors';
import { DEFAULT_KERNEL_PROFILE, parseKernelProfile } from './kernel-profile';
import type { KernelProfile } from './kernel-profile';
import { disallowedVmaOutcome, encodeKvmRun, outcomeEvent, tagAccessOutcome, KVM_RUN_SIZE } from './kvm-run';
import type { KvmRunOutcome } from './kvm-run';
import { KvmRunAccess } from './kvm-run-access';
import type { AccessEnd, AccessRequest } from './kvm-run-access';
import { migrationResultOf } from './migration';
import type { MigrationResult } from './migration';
import { evolve, initialUapiState } from './vm-state';
import type { UapiState } from './vm-state';

export interface UapiAdapterOptions {
  /** The kernel profile until a RunStarted event names one (DOMAIN A.1); default v2. */
  readonly kernel?: KernelProfile | string;
}

/** Which VM/vCPU a call targets and what caused it; `vm` defaults to the last VM created. */
export interface CallContext {
  readonly vm?: number;
  readonly vcpu?: number;
  readonly causation?: bigint;
}

const U32_MAX = 0xffff_ffff;

function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) throw new UapiError('MTEPERM_UAPI_ARG', `${what} ${n} is not a u32`);
  return n;
}

function u64(n: bigint, what: string): bigint {
  if (n < 0n || n >= 1n << 64n) throw new UapiError('MTEPERM_UAPI_ARG', `${what} ${n} is not a u64`);
  return n;
}

/** KVM_RUN on a vCPU that was never created: the VMM has no vCPU fd (-EBADF); no access ran. */
function noVcpu(req: AccessRequest, vcpu: number): AccessEnd {
  return { step: req.step, gpa: req.gpa, outcome: 'error', ret: fail('EBADF'), reason: `vCPU ${vcpu} was not created` };
}

/** The events the uapi state is a fold of. */
const FOLDED = ['RunStarted', 'HostCpusProbed', 'VmCreated', 'CapabilityEnabled', 'MemslotRegistered', 'VcpuCreated', 'MemoryFaultExit', 'MmioExit'] as const;
const FOLDED_TYPES: ReadonlySet<string> = new Set(FOLDED);

/**
 * The KVM API on the bus. Each ioctl is a plain call; the decision is published as an event and
 * the call returns what the kernel would return. The state is a fold of the published events (plus
 * RunStarted and HostCpusProbed from others), so `apply`-ing a recorded log to a fresh adapter
 * rebuilds it.
 */
export class UapiAdapter {
  private current: UapiState;
  // Own events published from inside another delivery are queued by the bus; they are folded at
  // once (so the next call decides on them) and skipped when the bus delivers them later.
  private readonly foldedEarly = new Set<bigint>();
  private lastDelivered = 0n;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly access: KvmRunAccess | undefined;

  constructor(
    private readonly bus?: EventBus,
    options: UapiAdapterOptions = {},
  ) {
    this.current = initialUapiState(options.kernel === undefined ? DEFAULT_KERNEL_PROFILE : parseKernelProfile(options.kernel));
    if (bus === undefined) return;
    const fold = (e: Envelope): void => {
      if (this.foldedEarly.delete(e.seq)) return;
      this.apply(e);
      this.lastDelivered = e.seq;
    };
    for (const type of FOLDED) this.unsubscribe.push(bus.subscribe('uapi', type, fold));
    // The mmu decides that the VMM gets the fault; what KVM_RUN returns and what kvm_run holds is
    // the uapi's (DOMAIN A.2.5, B §5.4 rows 5, 9, 10).
    this.unsubscribe.push(
      bus.subscribe('uapi', 'PolicyDecided', (e) => {
        if (e.data.decision === 'exit-to-vmm') this.exitTagAccess(e.data.ipa, { vm: e.vm, vcpu: e.vcpu, causation: e.seq });
      }),
      bus.subscribe('uapi', 'DisallowedVmaFault', (e) => {
        this.exitDisallowedVma(e.data.ipa, { vm: e.vm, vcpu: e.vcpu, causation: e.seq });
      }),
    );
    // KVM_RUN owns each guest access from AccessRequested to AccessEnded (kvm-run-access.ts).
    const access = new KvmRunAccess(bus);
    this.access = access;
    this.unsubscribe.push(() => access.dispose());
  }

  /** Folds one recorded event (also how a log is replayed into a fresh adapter). */
  apply(e: Envelope): void {
    this.current = evolve(this.current, e);
  }

  get state(): UapiState {
    return this.current;
  }

  get kernel(): KernelProfile {
    return this.current.kernel;
  }

  /** KVM_CREATE_VM; on success the new VM's id (1, 2, …) is in `vm`. */
  createVm(req: { readonly ipa_bits: number }, ctx: Omit<CallContext, 'vm' | 'vcpu'> = {}): IoctlResult & { readonly vm?: number } {
    const id = Math.max(0, ...this.current.vms.keys()) + 1;
    const [event] = this.run({ kind: 'create_vm', ipa_bits: req.ipa_bits }, undefined, { ...ctx, vm: id }, (e) => e.type === 'VmCreated' && e.data.ret !== 0);
    const ret = event!.type === 'VmCreated' ? event!.data.ret : 0;
    return ret === 0 ? { ret, vm: id } : ioctlResult(ret);
  }

  /** KVM_CHECK_EXTENSION (on the VM fd, or the system fd before any VM): the kernel's value. */
  checkExtension(req: { readonly cap: string | number }, ctx: CallContext = {}): { readonly ret: number } {
    const { cap, name } = resolveCap(req.cap);
    const [event] = this.run({ kind: 'check_extension', cap, cap_name: name }, this.vmOrNone(ctx), ctx);
    return { ret: event!.type === 'CapabilityChecked' ? Number(event!.data.ret) : 0 };
  }

  /** KVM_ENABLE_CAP. */
  enableCap(req: { readonly cap: string | number; readonly flags?: bigint; readonly args?: readonly bigint[]; readonly step?: number }, ctx: CallContext = {}): IoctlResult {
    const { cap, name } = resolveCap(req.cap);
    const args = (req.args ?? []).map((a, i) => u64(a, `args[${i}]`));
    const cmd: UapiCommand = { kind: 'enable_cap', cap, cap_name: name, flags: u64(req.flags ?? 0n, 'flags'), args, ...(req.step === undefined ? {} : { step: req.step }) };
    const [event] = this.run(cmd, this.vmOrNone(ctx), ctx);
    return ioctlResult(event!.type === 'CapabilityEnabled' ? event!.data.ret : 0);
  }

  /** KVM_SET_USER_MEMORY_REGION with a CONTRACT §1.2 backing (omit it to reuse the slot's VMA). */
  setUserMemoryRegion(
    req: {
      readonly slot: number;
      readonly guest_phys_addr: bigint;
      readonly memory_size: bigint;
      readonly backing?: BackingSpec;
      readonly flags?: number;
      readonly step?: number;
    },
    ctx: CallContext = {},
  ): IoctlResult {
    const slot = u32(req.slot, 'slot');
    const cmd: UapiCommand = {
      kind: 'set_user_memory_region',
      slot,
      guest_phys_addr: u64(req.guest_phys_addr, 'guest_phys_addr'),
      memory_size: u64(req.memory_size, 'memory_size'),
      flags: u32(req.flags ?? 0, 'flags'),
      vma: req.backing === undefined ? undefined : vmaForBacking(req.backing, slot),
      ...(req.step === undefined ? {} : { step: req.step }),
    };
    const vm = this.vmOrNone(ctx);
    if (cmd.vma === undefined && cmd.memory_size !== 0n && !this.current.vms.get(vm)?.memslots.has(slot)) {
      throw new UapiError('MTEPERM_UAPI_BACKING', `set_user_memory_region slot ${slot}: a new memslot needs a backing`);
    }
    const [event] = this.run(cmd, vm, ctx);
    return ioctlResult(event!.type === 'MemslotRefused' ? event!.data.ret : 0);
  }

  /** KVM_CREATE_VCPU + KVM_ARM_VCPU_INIT (`el2`: KVM_ARM_VCPU_HAS_EL2). */
  createVcpu(req: { readonly id: number; readonly el2?: boolean }, ctx: Omit<CallContext, 'vcpu'> = {}): IoctlResult {
    const id = u32(req.id, 'vcpu id');
    const [event] = this.run({ kind: 'create_vcpu', id, el2: req.el2 ?? false }, this.vmOrNone(ctx), { ...ctx, vcpu: id });
    return ioctlResult(event!.type === 'VcpuCreated' ? event!.data.ret : 0);
  }

  /** KVM_ARM_MTE_COPY_TAGS: `ret` is the bytes copied, or -errno. */
  mteCopyTags(req: { readonly guest_ipa: bigint; readonly length: bigint; readonly to_guest?: boolean; readonly flags?: bigint }, ctx: CallContext = {}): IoctlResult {
    const flags = req.flags ?? (req.to_guest === false ? 1n : 0n);
    const cmd: UapiCommand = { kind: 'mte_copy_tags', guest_ipa: u64(req.guest_ipa, 'guest_ipa'), length: u64(req.length, 'length'), flags: u64(flags, 'flags') };
    const [event] = this.run(cmd, this.vmOrNone(ctx), ctx);
    return ioctlResult(event!.type === 'MteTagsCopied' ? Number(event!.data.ret) : 0);
  }

  /** The migration check against another host, as cpufeature probed it (DOMAIN A.2.9). */
  migrate(req: { readonly target: EventData<'HostCpusProbed'> }, ctx: CallContext = {}): MigrationResult {
    const [event] = this.run({ kind: 'migrate', target: req.target }, this.vmOrNone(ctx), ctx);
    if (event!.type !== 'MigrationChecked') throw new Error('unreachable: migrate decides MigrationChecked');
    return migrationResultOf(event!.data);
  }

  /**
   * KVM_RUN on `ctx.vcpu` for one guest access (an `access` step): publishes the AccessRequested
   * and returns the AccessEnded that ended it (kvm-run-access.ts; README "Who owns an access").
   * Without a vCPU fd the ioctl fails -EBADF before KVM runs anything: nothing is published.
   */
  runAccess(req: AccessRequest, ctx: { readonly vm: number; readonly vcpu: number }): AccessEnd {
    if (this.access === undefined) throw new UapiError('MTEPERM_UAPI_NO_VM', 'this adapter has no bus: it can only replay events');
    if (this.current.vms.get(ctx.vm)?.vcpus.has(ctx.vcpu) !== true) return noVcpu(req, ctx.vcpu);
    return this.access.run(req, ctx.vm, ctx.vcpu);
  }

  /** Hands a tag-access fault to the VMM as this profile does (DOMAIN A.2.5) and records it. */
  exitTagAccess(ipa: bigint, ctx: CallContext & { readonly vcpu: number }): KvmRunOutcome {
    return this.exit(tagAccessOutcome(this.current.kernel, ipa), ipa, 'tag access to a NoTagAccess page', ctx);
  }

  /** A fault on a VMA without VM_MTE_ALLOWED that KVM does not map (DOMAIN B §5.4 rows 5, 10). */
  exitDisallowedVma(ipa: bigint, ctx: CallContext & { readonly vcpu: number }): KvmRunOutcome {
    return this.exit(disallowedVmaOutcome(this.current.kernel, ipa), ipa, 'VMA without VM_MTE_ALLOWED', ctx);
  }

  /** The vCPU's struct kvm_run (first 288 bytes) as the VMM would read it after its last exit. */
  kvmRun(vm: number, vcpu: number): Uint8Array {
    const exit = this.current.vms.get(vm)?.vcpus.get(vcpu)?.exit;
    return exit === undefined ? new Uint8Array(KVM_RUN_SIZE) : encodeKvmRun(exit);
  }

  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private exit(outcome: KvmRunOutcome, ipa: bigint, reason: string, ctx: CallContext & { readonly vcpu: number }): KvmRunOutcome {
    this.publish(outcomeEvent(outcome, ipa, reason), { vm: this.vmOrNone(ctx), vcpu: ctx.vcpu, causation: ctx.causation });
    return outcome;
  }

  private vmOrNone(ctx: CallContext): number {
    return ctx.vm ?? Math.max(0, ...this.current.vms.keys());
  }

  /** Decides, folds and publishes; `orphan` marks events that belong to no VM (a refused create). */
  private run(cmd: UapiCommand, vm: number | undefined, ctx: CallContext, orphan: (e: MteEvent) => boolean = () => false): readonly MteEvent[] {
    const events = decide(cmd, vm === undefined ? undefined : this.current.vms.get(vm), { kernel: this.current.kernel, host: this.current.host });
    for (const e of events) this.publish(e, { ...ctx, vm: orphan(e) ? 0 : (ctx.vm ?? vm ?? 0) });
    return events;
  }

  private publish(event: MteEvent, ctx: CallContext): void {
    // Not NO_VM: the VM may well exist in the folded log; what is missing is a bus to decide on.
    if (this.bus === undefined) throw new UapiError('MTEPERM_UAPI_NO_BUS', 'this adapter has no bus: it can only replay events');
    // Keys only when given, as before; built without spreads (exits are published per fault).
    const context: { vm: number; vcpu?: number; causation?: bigint } = { vm: ctx.vm ?? 0 };
    if (ctx.vcpu !== undefined) context.vcpu = ctx.vcpu;
    if (ctx.causation !== undefined) context.causation = ctx.causation;
    const envelope = this.bus.publish(event, context);
    if (FOLDED_TYPES.has(envelope.type) && this.lastDelivered < envelope.seq) {
      this.apply(envelope);
      this.foldedEarly.add(envelope.seq);
    }
  }
}
