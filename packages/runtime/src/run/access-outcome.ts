import { fail, KVM_EXIT_ARM_NISV, KVM_EXIT_MMIO, KVM_EXIT_NAME } from '@mteperm/arm64';
import type { Envelope } from '@mteperm/events';
import { ioctlResult, UNHANDLED_ACCESS_REASON } from '@mteperm/uapi';
import type { AccessEnd } from '@mteperm/uapi';
import { hex } from './hex';

/** `{ ret }`, plus `errno` (the kernel's name, from the uapi's table) when `ret < 0` (CONTRACT §3). */
export function errnoOf(ret: number): { ret: number; errno?: string } {
  return ioctlResult(ret);
}

type Outcome = Record<string, unknown>;

/**
 * The `access` step's outcome members (CONTRACT §3), read from the AccessEnded that KVM_RUN, the
 * access's owner (packages/uapi README "Who owns an access"), published for it.
 */
export function outcomeOfEnd(end: AccessEnd): Outcome {
  switch (end.outcome) {
    case 'ok':
    case 'retried':
      return { outcome: end.outcome };
    case 'exit': {
      // An outcome's own fields are present (absent ones read as the proto3 default).
      const reason = end.exit_reason ?? 0;
      // kvm_run's own field names for each exit (CONTRACT §3, DOMAIN A.3.4).
      if (reason === KVM_EXIT_ARM_NISV) return { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NISV', fault_ipa: hex(end.fault_ipa ?? 0n), esr_iss: hex(end.esr_iss ?? 0n) } };
      if (reason === KVM_EXIT_MMIO) return { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: hex(end.phys_addr ?? 0n), len: hex(end.len ?? 0), is_write: end.is_write ?? false } };
      return {
        outcome: 'exit',
        ...errnoOf(end.ret),
        exit: { reason: KVM_EXIT_NAME[reason] ?? String(reason), gpa: hex(end.exit_gpa ?? 0n), size: hex(end.exit_size ?? 0n), flags: hex(end.exit_flags ?? 0n) },
      };
    }
    case 'error':
      return { outcome: 'error', ...errnoOf(end.ret), reason: end.reason ?? '' };
    case 'injected':
      return { outcome: 'injected', ...(end.abort_target_level === 2 ? { target: 'L1' } : {}), abort: { kind: end.abort_kind, esr: hex(end.abort_esr ?? 0n) } };
  }
}

/**
 * The `access` step's result (CONTRACT §3 key order) from its AccessEnded. The common outcomes,
 * nearly every step of a long run, get one plain literal instead of a copy of their keys.
 */
export function accessResult(index: number, vcpu: number, gpa: string, access: string, end: AccessEnd): Record<string, unknown> & { index: number; op: string } {
  // `esr` comes last (CONTRACT §3: after the outcome's members), only when a stage-2 abort was taken
  // (DOMAIN A.3.3: ESR_EL2 as taken, the first one if the access was retried).
  if (end.esr === undefined) {
    if (end.outcome === 'ok') return { index, op: 'access', vcpu, gpa, access, outcome: 'ok' };
    if (end.outcome === 'retried') return { index, op: 'access', vcpu, gpa, access, outcome: 'retried' };
    return { index, op: 'access', vcpu, gpa, access, ...outcomeOfEnd(end) };
  }
  return { index, op: 'access', vcpu, gpa, access, ...outcomeOfEnd(end), esr: hex(end.esr) };
}

// ------------------------------------------------------------------ schema 1: logs without AccessEnded

const RETRIED_OK = Object.freeze({ outcome: 'retried' });
const OK = Object.freeze({ outcome: 'ok' });
const NO_OUTCOME: Outcome = Object.freeze({ outcome: 'error', ...errnoOf(fail('ENOSYS')), reason: UNHANDLED_ACCESS_REASON });

/**
 * What a schema-1 end event (recorded before AccessEnded existed) made of the access: the rule
 * KVM_RUN now applies live (packages/uapi/src/kvm-run-access.ts), applied to the recorded events.
 */
function legacyOutcomeOf(e: Envelope, level: number, retried: boolean): Outcome | undefined {
  switch (e.type) {
    case 'AccessCompleted':
      if ((e.data.level ?? 1) !== level) return undefined;
      return retried ? RETRIED_OK : OK;
    case 'MemoryFaultExit':
      return {
        outcome: 'exit',
        ...errnoOf(e.data.ret),
        exit: { reason: KVM_EXIT_NAME[e.data.exit_reason] ?? String(e.data.exit_reason), gpa: hex(e.data.gpa), size: hex(e.data.size), flags: hex(e.data.flags) },
      };
    case 'MmioExit':
      return { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: hex(e.data.phys_addr), len: hex(e.data.len), is_write: e.data.is_write } };
    case 'KvmRunFailed':
      return { outcome: 'error', ...errnoOf(e.data.ret), reason: e.data.reason };
    case 'InjectedAbort':
      return { outcome: 'injected', ...(e.data.target_level === 2 ? { target: 'L1' } : {}), abort: { kind: e.data.kind, esr: hex(e.data.esr) } };
    default:
      return undefined;
  }
}

/**
 * The outcome of one recorded access from the events its AccessRequested caused (re-decide
 * replay): its AccessEnded; in a schema-1 log, which has none, the first end event folded by the
 * same rule (`level`: the request's, 1 or 2).
 */
export function accessOutcome(events: readonly Envelope[], level = 1): Outcome {
  for (const e of events) if (e.type === 'AccessEnded') return outcomeOfEnd(e.data);
  const retried = events.some((e) => e.type === 'PolicyDecided' && e.data.decision === 'allocate-tags-and-retry');
  for (const e of events) {
    const o = legacyOutcomeOf(e, level, retried);
    if (o !== undefined) return o;
  }
  return NO_OUTCOME;
}
