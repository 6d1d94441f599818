import type { EventBus } from '@mteperm/bus';
import type { Envelope } from '@mteperm/events';
import { exitReasonName, ioctlResult } from '@mteperm/uapi';
import { hex } from './hex';


/** `{ ret }`, plus `errno` (the kernel's name, from the uapi's table) when `ret < 0` (CONTRACT §3). */
export function errnoOf(ret: number): { ret: number; errno?: string } {
  return ioctlResult(ret);
}

type Outcome = Record<string, unknown>;

// The common outcomes are shared: an access that completes allocates nothing for its result.
const OK: Outcome = Object.freeze({ outcome: 'ok' });
const RETRIED: Outcome = Object.freeze({ outcome: 'retried' });

/**
 * The `access` step's result (CONTRACT §3 key order). The shared outcomes, nearly every step of a
 * long run, get one plain literal instead of a copy of their keys.
 */
export function accessResult(index: number, vcpu: number, gpa: string, access: string, outcome: Outcome): Record<string, unknown> & { index: number; op: string } {
  if (outcome === OK) return { index, op: 'access', vcpu, gpa, access, outcome: 'ok' };
  if (outcome === RETRIED) return { index, op: 'access', vcpu, gpa, access, outcome: 'retried' };
  return { index, op: 'access', vcpu, gpa, access, ...outcome };
}

/** The outcome a terminal event gives an access, or undefined when the event ends nothing. */
function outcomeOf(e: Envelope, level: 1 | 2, retried: boolean): Outcome | undefined {
  switch (e.type) {
    case 'AccessCompleted':
      // A level-2 (nested) access completes only with an AccessCompleted of level 2: the level-1
      // completions before it are the nested package's lookups of the L1 IPA in L0's stage 2.
      if ((e.data.level ?? 1) !== level) return undefined;
      return retried ? RETRIED : OK;
    case 'MemoryFaultExit':
      return {
        outcome: 'exit',
        ...errnoOf(e.data.ret),
        exit: { reason: exitReasonName(e.data.exit_reason) ?? String(e.data.exit_reason), gpa: hex(e.data.gpa), size: hex(e.data.size), flags: hex(e.data.flags) },
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

const NO_OUTCOME: Outcome = Object.freeze({ outcome: 'error', ...errnoOf(-38), reason: 'no component handled this access' });

/**
 * The `access` step's outcome (CONTRACT §3), read from the events its AccessRequested caused: the
 * first terminal event decides it; `retried` when a policy allocated tag storage first. It listens
 * only to the few event types that matter, so a run does not keep every event of every access.
 */
export class AccessOutcomeWatcher {
  private watching = false;
  private level: 1 | 2 = 1;
  private retried = false;
  private outcome: Outcome | undefined;

  constructor(bus: EventBus) {
    const onEnd = (e: Envelope): void => {
      if (this.watching && this.outcome === undefined) this.outcome = outcomeOf(e, this.level, this.retried);
    };
    for (const t of ['AccessCompleted', 'MemoryFaultExit', 'MmioExit', 'KvmRunFailed', 'InjectedAbort'] as const) bus.subscribe('runtime', t, onEnd);
    bus.subscribe('runtime', 'PolicyDecided', (e) => {
      if (this.watching && e.data.decision === 'allocate-tags-and-retry') this.retried = true;
    });
  }

  /** Runs `publish` (the access) and returns the outcome of what it caused. */
  watch(level: 1 | 2, publish: () => void): Outcome {
    this.watching = true;
    this.level = level;
    this.retried = false;
    this.outcome = undefined;
    try {
      publish();
    } finally {
      this.watching = false;
    }
    return this.outcome ?? NO_OUTCOME;
  }
}

/** The same outcome read from a recorded list of the events an access caused (re-decide replay). */
export function accessOutcome(events: readonly Envelope[], level: 1 | 2 = 1): Outcome {
  const retried = events.some((e) => e.type === 'PolicyDecided' && e.data.decision === 'allocate-tags-and-retry');
  for (const e of events) {
    const o = outcomeOf(e, level, retried);
    if (o !== undefined) return o;
  }
  return NO_OUTCOME;
}
