import type { EventBus } from '@mteperm/bus';
import type { AccessOutcome, Envelope, EnvelopeOf, EventData } from '@mteperm/events';
import { fail } from './errno';
import { KVM_EXIT_MMIO } from './kvm-run';
import { KVM_EXIT_ARM_NISV } from '@mteperm/arm64';

const SUBSCRIBER = 'uapi';

/** The access a vCPU is asked to run (one `access` step): what AccessRequested records. */
export type AccessRequest = EventData<'AccessRequested'>;
/** How KVM_RUN ended the access: the AccessEnded event's body. */
export type AccessEnd = EventData<'AccessEnded'>;

/** Why an AccessRequested nobody answered ends with -ENOSYS: no package handled its level. */
export const UNHANDLED_ACCESS_REASON = 'no component handled this access';

/** The one access in flight: KVM_RUN blocks its caller, and the bus runs every consequence before returning. */
interface Flight {
  active: boolean;
  vm: number;
  vcpu: number;
  /** 1 for the VM's own guest, 2 for its nested guest: only a completion of this level ends the access. */
  level: number;
  step: number;
  gpa: bigint;
  /** A policy gave the page tag storage (allocate-tags-and-retry) during this access (DOMAIN A.2.7). */
  retried: boolean;
  /** ESR_EL2 of the access's first stage-2 abort. */
  esr: bigint | undefined;
  ended: AccessEnd | undefined;
}

/**
 * Mutable AccessEnded body reused for every end: the bus encodes it during `publish` and keeps
 * nothing. Fields of other outcomes stay undefined (not deleted, so the object keeps one shape):
 * the codec leaves them out, and the recorded event has only the fields of its outcome.
 */
interface EndBody {
  step: number;
  gpa: bigint;
  outcome: AccessOutcome;
  ret: number;
  esr: bigint | undefined;
  exit_reason: number | undefined;
  exit_gpa: bigint | undefined;
  exit_size: bigint | undefined;
  exit_flags: bigint | undefined;
  phys_addr: bigint | undefined;
  len: number | undefined;
  is_write: boolean | undefined;
  abort_kind: EventData<'InjectedAbort'>['kind'] | undefined;
  abort_esr: bigint | undefined;
  abort_target_level: number | undefined;
  reason: string | undefined;
  fault_ipa: bigint | undefined;
  esr_iss: bigint | undefined;
}

/**
 * KVM_RUN as the owner of a guest access (ARCHITECTURE "Event flow"; README "Who owns an access").
 * `run` publishes the AccessRequested; the packages that handle it (pgtable's walk, the mmu's
 * fault path, nested's shadow stage 2, the uapi's own exits) publish what happened; the first
 * event that ends the access for this vCPU — AccessCompleted of the access's level, MemoryFaultExit,
 * MmioExit, KvmRunFailed or InjectedAbort — is answered with exactly one AccessEnded, caused by it.
 * Nothing else decides that an access is over: the mmu and nested drop their per-access records on
 * AccessEnded, and the runtime reads the step's result from it.
 */
export class KvmRunAccess {
  private readonly flight: Flight = { active: false, vm: 0, vcpu: 0, level: 1, step: 0, gpa: 0n, retried: false, esr: undefined, ended: undefined };
  private readonly body: EndBody = {
    step: 0,
    gpa: 0n,
    outcome: 'ok',
    ret: 0,
    esr: undefined,
    exit_reason: undefined,
    exit_gpa: undefined,
    exit_size: undefined,
    exit_flags: undefined,
    phys_addr: undefined,
    len: undefined,
    is_write: undefined,
    abort_kind: undefined,
    abort_esr: undefined,
    abort_target_level: undefined,
    reason: undefined,
    fault_ipa: undefined,
    esr_iss: undefined,
  };
  private readonly ctx = { vm: 0, vcpu: 0, causation: 0n };
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly bus: EventBus) {
    this.unsubscribe = [
      bus.subscribe(SUBSCRIBER, 'Stage2FaultTaken', (e) => {
        const f = this.mine(e);
        if (f !== undefined && f.esr === undefined) f.esr = e.data.esr;
      }),
      bus.subscribe(SUBSCRIBER, 'PolicyDecided', (e) => {
        const f = this.mine(e);
        if (f !== undefined && e.data.decision === 'allocate-tags-and-retry') f.retried = true;
      }),
      // A level-2 access sees level-1 completions first: nested's lookups of the L1 IPA in L0's stage 2.
      bus.subscribe(SUBSCRIBER, 'AccessCompleted', (e) => {
        const f = this.mine(e);
        if (f !== undefined && (e.data.level ?? 1) === f.level) {
          this.end(f, f.retried ? 'retried' : 'ok', e.seq);
          this.publishEnd();
        }
      }),
      bus.subscribe(SUBSCRIBER, 'MemoryFaultExit', (e) => this.onMemoryFault(e)),
      bus.subscribe(SUBSCRIBER, 'MmioExit', (e) => this.onMmio(e)),
      bus.subscribe(SUBSCRIBER, 'ArmNisvExit', (e) => {
        const f = this.mine(e);
        if (f === undefined) return;
        const b = this.end(f, 'exit', e.seq);
        b.exit_reason = KVM_EXIT_ARM_NISV;
        b.fault_ipa = e.data.fault_ipa;
        b.esr_iss = e.data.esr_iss;
        this.publishEnd();
      }),
      bus.subscribe(SUBSCRIBER, 'KvmRunFailed', (e) => {
        const f = this.mine(e);
        if (f === undefined) return;
        const b = this.end(f, 'error', e.seq);
        b.ret = e.data.ret;
        b.reason = e.data.reason;
        this.publishEnd();
      }),
      bus.subscribe(SUBSCRIBER, 'InjectedAbort', (e) => {
        const f = this.mine(e);
        if (f === undefined) return;
        const b = this.end(f, 'injected', e.seq);
        b.abort_kind = e.data.kind;
        b.abort_esr = e.data.esr;
        b.abort_target_level = e.data.target_level;
        this.publishEnd();
      }),
    ];
  }

  /**
   * KVM_RUN on `vcpu` until the access `req` is over; returns the AccessEnded body. An access that
   * no package answered ends -ENOSYS, caused by its own AccessRequested. Called as the VMM calls
   * the ioctl, from outside any bus delivery: the outermost publish returns once all is delivered.
   */
  run(req: AccessRequest, vm: number, vcpu: number): AccessEnd {
    const f = this.flight;
    f.active = true;
    f.vm = vm;
    f.vcpu = vcpu;
    f.level = req.level;
    f.step = req.step;
    f.gpa = req.gpa;
    f.retried = false;
    f.esr = undefined;
    f.ended = undefined;
    this.ctx.vm = vm;
    this.ctx.vcpu = vcpu;
    this.ctx.causation = 0n;
    const requested = this.bus.publish({ type: 'AccessRequested', data: req }, this.ctx);
    if (f.active) {
      const b = this.end(f, 'error', requested.seq);
      b.ret = fail('ENOSYS');
      b.reason = UNHANDLED_ACCESS_REASON;
      this.publishEnd();
    }
    return f.ended!;
  }

  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private onMemoryFault(e: EnvelopeOf<'MemoryFaultExit'>): void {
    const f = this.mine(e);
    if (f === undefined) return;
    const b = this.end(f, 'exit', e.seq);
    b.ret = e.data.ret;
    b.exit_reason = e.data.exit_reason;
    b.exit_gpa = e.data.gpa;
    b.exit_size = e.data.size;
    b.exit_flags = e.data.flags;
    this.publishEnd();
  }

  private onMmio(e: EnvelopeOf<'MmioExit'>): void {
    const f = this.mine(e);
    if (f === undefined) return;
    const b = this.end(f, 'exit', e.seq);
    b.exit_reason = KVM_EXIT_MMIO;
    b.phys_addr = e.data.phys_addr;
    b.len = e.data.len;
    b.is_write = e.data.is_write;
    this.publishEnd();
  }

  /** The flight `e` belongs to (same VM and vCPU, still running), if any. */
  private mine(e: Envelope): Flight | undefined {
    const f = this.flight;
    return f.active && e.vcpu === f.vcpu && e.vm === f.vm ? f : undefined;
  }

  /** Retires the flight and resets the reused body to `outcome` with every other field absent. */
  private end(f: Flight, outcome: AccessOutcome, causation: bigint): EndBody {
    f.active = false;
    const b = this.body;
    b.step = f.step;
    b.gpa = f.gpa;
    b.outcome = outcome;
    b.ret = 0;
    b.esr = f.esr;
    b.exit_reason = undefined;
    b.exit_gpa = undefined;
    b.exit_size = undefined;
    b.exit_flags = undefined;
    b.phys_addr = undefined;
    b.len = undefined;
    b.is_write = undefined;
    b.abort_kind = undefined;
    b.abort_esr = undefined;
    b.abort_target_level = undefined;
    b.reason = undefined;
    b.fault_ipa = undefined;
    b.esr_iss = undefined;
    this.ctx.vm = f.vm;
    this.ctx.vcpu = f.vcpu;
    this.ctx.causation = causation;
    return b;
  }

  /** Publishes the body `end` prepared; the flight keeps the recorded (decoded, frozen) form. */
  private publishEnd(): void {
    this.flight.ended = this.bus.publish({ type: 'AccessEnded', data: this.body as AccessEnd }, this.ctx).data;
  }
}
