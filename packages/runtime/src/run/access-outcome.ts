import type { Envelope } from '@mteperm/events';
import { hex } from './hex';

const ERRNO: Readonly<Record<number, string>> = { 1: 'EPERM', 8: 'ENOEXEC', 9: 'EBADF', 11: 'EAGAIN', 14: 'EFAULT', 22: 'EINVAL', 34: 'ERANGE', 38: 'ENOSYS' };
const EXIT_NAMES: Readonly<Record<number, string>> = { 6: 'KVM_EXIT_MMIO', 39: 'KVM_EXIT_MEMORY_FAULT', 40: 'KVM_EXIT_ARM_NOTAG_ACCESS' };

export function errnoOf(ret: number): { ret: number; errno?: string } {
  const name = ret < 0 ? ERRNO[-ret] : undefined;
  return name === undefined ? { ret } : { ret, errno: name };
}

/**
 * The `access` step's outcome (CONTRACT §3), read from the events its AccessRequested caused:
 * the first terminal event decides it. `retried` when a policy allocated tags before completion.
 * A level-2 (nested) access completes only with an AccessCompleted of level 2: the level-1
 * completions before it are the nested package's lookups of the L1 IPA in L0's stage 2.
 */
export function accessOutcome(events: readonly Envelope[], level: 1 | 2 = 1): Record<string, unknown> {
  const retried = events.some((e) => e.type === 'PolicyDecided' && e.data.decision === 'allocate-tags-and-retry');
  for (const e of events) {
    switch (e.type) {
      case 'AccessCompleted':
        if ((e.data.level ?? 1) !== level) break;
        return { outcome: retried ? 'retried' : 'ok' };
      case 'MemoryFaultExit':
        return {
          outcome: 'exit',
          ...errnoOf(e.data.ret),
          exit: { reason: EXIT_NAMES[e.data.exit_reason] ?? String(e.data.exit_reason), gpa: hex(e.data.gpa), size: hex(e.data.size), flags: hex(e.data.flags) },
        };
      case 'MmioExit':
        return { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_MMIO', phys_addr: hex(e.data.phys_addr), len: hex(e.data.len), is_write: e.data.is_write } };
      case 'KvmRunFailed':
        return { outcome: 'error', ...errnoOf(e.data.ret), reason: e.data.reason };
      case 'InjectedAbort':
        return { outcome: 'injected', ...(e.data.target_level === 2 ? { target: 'L1' } : {}), abort: { kind: e.data.kind, esr: hex(e.data.esr) } };
      default:
        break;
    }
  }
  return { outcome: 'error', ...errnoOf(-38), reason: 'no component handled this access' };
}
