import type { Envelope, EventData } from '@mteperm/events';
import { accessOutcome } from '../run/access-outcome';
import { hex } from '../run/hex';

/** How one run handled one tag-access fault, or that it took none at that point. */
export interface FaultHandling {
  /** The policy whose decision won (`exit-to-vmm` for the fallback); null when no tag-access fault was taken. */
  readonly plugin: string | null;
  readonly decision: string | null;
  /** The access step's outcome (CONTRACT §3). */
  readonly outcome: string;
  /** Plugins recorded as PluginFailed while deciding this fault. */
  readonly plugin_failures: number;
}

/** One tag-access fault of a run, keyed by its access step and its order within that step. */
export interface TalliedFault {
  readonly step: number;
  /** 0 for the step's first tag-access fault, 1 for the next, … */
  readonly ordinal: number;
  readonly vcpu: number;
  readonly gpa: string;
  readonly op: string;
  readonly ipa: string;
  readonly esr: string;
  readonly handling: FaultHandling;
}

export interface FaultTotals {
  /** Tag-access faults decided by the policy chain. */
  faults: number;
  /** Faults whose winning decision was exit-to-vmm (the VMM got the A.2.5 exit). */
  exits: number;
  /** Faults decided allocate-tags-and-retry (with pool pages left). */
  retried: number;
  /** Faults decided inject-sea. */
  injected: number;
  /** Pages taken from the tag-storage pool (TagStorageAllocated). */
  tag_pages_used: number;
  plugin_failures: number;
}

interface AccessGroup {
  readonly request: EventData<'AccessRequested'>;
  readonly vcpu: number;
  readonly events: Envelope[];
}

/**
 * Folds a run's event stream, recorded or live, into its tag-access faults and totals. Both sides
 * of a re-decide go through this one fold, so "same totals as a fresh run" compares like with
 * like. An access is the AccessRequested the runtime published (causation 0) and everything it
 * caused up to the next uncaused event: the bus delivers synchronously, so those are contiguous.
 */
export class FaultTally {
  readonly totals: FaultTotals = { faults: 0, exits: 0, retried: 0, injected: 0, tag_pages_used: 0, plugin_failures: 0 };
  readonly faults: TalliedFault[] = [];
  /** Outcome of every access step, including those that took no tag-access fault. */
  readonly outcomes = new Map<number, string>();
  private group: AccessGroup | undefined;

  add(e: Envelope): void {
    if (e.causation === 0n) {
      this.close();
      if (e.type === 'AccessRequested') this.group = { request: e.data, vcpu: e.vcpu, events: [] };
      return;
    }
    if (e.type === 'TagStorageAllocated') this.totals.tag_pages_used += Number(e.data.pages);
    if (e.type === 'PluginFailed') this.totals.plugin_failures++;
    this.group?.events.push(e);
  }

  /** Ends the access in progress (call once the stream is over). */
  close(): void {
    const g = this.group;
    if (g === undefined) return;
    this.group = undefined;
    const outcome = String(accessOutcome(g.events, g.request.level)['outcome']);
    this.outcomes.set(g.request.step, outcome);
    const faultEvents = new Map<bigint, EventData<'Stage2FaultTaken'>>();
    const winner = new Map<bigint, EventData<'PolicyDecided'>>();
    const failures = new Map<bigint, number>();
    for (const e of g.events) {
      if (e.type === 'Stage2FaultTaken') faultEvents.set(e.seq, e.data);
      // The chain records every decision up to the winner (or the fallback): the last one won.
      else if (e.type === 'PolicyDecided') winner.set(e.data.fault_seq, e.data);
      else if (e.type === 'PluginFailed') failures.set(e.causation, (failures.get(e.causation) ?? 0) + 1);
    }
    let ordinal = 0;
    for (const [seq, d] of winner) {
      const fault = faultEvents.get(seq);
      this.totals.faults++;
      if (d.decision === 'exit-to-vmm') this.totals.exits++;
      else if (d.decision === 'allocate-tags-and-retry') this.totals.retried++;
      else if (d.decision === 'inject-sea') this.totals.injected++;
      this.faults.push({
        step: g.request.step,
        ordinal: ordinal++,
        vcpu: g.vcpu,
        gpa: hex(g.request.gpa),
        op: g.request.op,
        ipa: hex(fault?.ipa ?? d.ipa),
        esr: fault === undefined ? '' : hex(fault.esr),
        handling: { plugin: d.plugin, decision: d.decision, outcome, plugin_failures: failures.get(seq) ?? 0 },
      });
    }
  }
}
