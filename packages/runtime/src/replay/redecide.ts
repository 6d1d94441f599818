import { EventBus } from '@mteperm/bus';
import { probeHostCpus } from '@mteperm/cpufeature';
import type { Envelope } from '@mteperm/events';
import { openLogReader } from '@mteperm/log';
import type { EventLog, EventLogDamage } from '@mteperm/log';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { loadPolicyChain } from '../policy/resolve-policies';
import { composeLiveModel } from '../run/compose';
import type { Model } from '../run/compose';
import { stateDigest } from '../run/state-digest';
import { FaultTally } from './fault-tally';
import type { FaultHandling, FaultTotals, TalliedFault } from './fault-tally';
import { feedAndClose } from '../run/read-log';

export interface RedecideOptions {
  /** The new chain, already loaded (default: `policyNames` loaded by resolvePolicies). */
  readonly policies?: readonly FaultPolicy[];
  /** The new chain's names, recorded in the new run's RunStarted (default: the policies' names, else the recorded chain). */
  readonly policyNames?: readonly string[];
  /** Where policy paths and packages resolve from (default: the working folder). */
  readonly cwd?: string;
  /** Run file and package policies in sandboxed processes (`replay --policy ... --sandbox`). */
  readonly sandbox?: boolean;
}

/** One tag-access fault: what the recorded run did and what the new chain does. */
export interface RedecidedFault extends Omit<TalliedFault, 'handling'> {
  readonly recorded: FaultHandling;
  readonly redecided: FaultHandling;
  readonly changed: boolean;
}

/** The re-decide report: plain JSON (numbers are counts, addresses hex strings), deterministic. */
export interface RedecideReport {
  readonly log: string;
  readonly scenario: string;
  readonly kernel: string;
  readonly recorded_policies: readonly string[];
  readonly policies: readonly string[];
  readonly tag_pool_pages: number;
  readonly faults: readonly RedecidedFault[];
  readonly totals: {
    readonly recorded: FaultTotals;
    readonly redecided: FaultTotals;
    /** Exits the new chain avoids: recorded.exits − redecided.exits, never below 0 (a chain that exits more avoids none; `redecided.exits` says how many it adds). */
    readonly exits_avoided: number;
    /** Faults whose decision or outcome differs. */
    readonly changed: number;
  };
  /** The recorded StateHashRecorded digest (null if the log does not reach it) and the new run's final state. */
  readonly state_sha256: { readonly recorded: string | null; readonly redecided: string | null };
  /** Where a damaged log stops being readable: only its intact prefix was re-decided. */
  readonly damage: { readonly code: string; readonly offset: number; readonly reason: string; readonly unit?: 'stream seq' } | null;
}

/**
 * Replay *re-decide* (ARCHITECTURE "Event flow", CONTRACT §2 `replay --policy`): feeds the recorded
 * inputs of a log — RunStarted, HostCpusProbed, each ioctl's request (read back from its recorded
 * event), the guest hypervisor's stage-2 writes and the accesses the runtime published for steps (AccessRequested with causation 0) —
 * through a fresh live model with the new policies, and compares each tag-access fault. Everything
 * the recording derived from those inputs is recomputed, not copied; the same log and plugins give
 * the same report.
 */
export function redecideLog(path: string, options: RedecideOptions = {}): RedecideReport {
  const fold = redecideFold(options);
  const reader = openLogReader(path);
  feedAndClose(reader, (e) => fold.add(e));
  return fold.report(path, reader.damage);
}

/** The same over any EventLog (a `.mtelog` file or a JetStream run), reading asynchronously. */
export async function redecideEventLog(log: EventLog, options: RedecideOptions = {}): Promise<RedecideReport> {
  const fold = redecideFold(options);
  for await (const e of log.envelopes()) fold.add(e);
  return fold.report(log.location, log.damage);
}

// The fold both readers feed: one recorded event at a time, then the report.
function redecideFold(options: RedecideOptions): { add(e: Envelope): void; report(path: string, damage: EventLogDamage | undefined): RedecideReport } {
  const recorded = new FaultTally();
  const fresh = new FaultTally();
  let live: { bus: EventBus; model: Model } | undefined;
  let names: readonly string[] = options.policyNames ?? [];
  let recordedSha: string | null = null;
  let closeChain = (): void => undefined;
  let head = { scenario: '', kernel: '', recorded_policies: [] as readonly string[], tag_pool_pages: 0 };

  const add = (e: Envelope): void => {
    recorded.add(e);
    if (e.type === 'StateHashRecorded') recordedSha = Buffer.from(e.data.sha256).toString('hex');
    if (e.causation !== 0n) return;
    if (e.type === 'RunStarted') {
      names = options.policyNames ?? options.policies?.map((p) => p.name) ?? e.data.policies;
      const chain =
        options.policies === undefined
          ? loadPolicyChain(names, { ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.sandbox === true ? { sandbox: true } : {}) })
          : { policies: [...options.policies], failures: [], close: () => undefined };
      closeChain = chain.close;
      const bus = new EventBus();
      const model = composeLiveModel(bus, { policies: chain.policies });
      bus.all().subscribe((x) => fresh.add(x));
      live = { bus, model };
      head = { scenario: e.data.scenario, kernel: e.data.kernel, recorded_policies: e.data.policies, tag_pool_pages: Number(e.data.tag_pool_pages) };
      bus.publish({ type: 'RunStarted', data: { ...e.data, policies: [...names] } });
      for (const f of chain.failures) bus.publish({ type: 'PluginFailed', data: { plugin: f.plugin, hook: 'load', reason: f.reason, message: f.message } });
      return;
    }
    if (live !== undefined) feed(live, e);
  };

  const report = (path: string, damage: EventLogDamage | undefined): RedecideReport => {
    recorded.close();
    fresh.close();
    closeChain();
    const redecidedSha = live === undefined ? null : stateDigest(live.model);
    live?.bus.complete();

    const faults = pair(recorded, fresh);
    return {
      log: path,
      ...head,
      policies: [...names],
      faults,
      totals: {
        recorded: recorded.totals,
        redecided: fresh.totals,
        exits_avoided: Math.max(0, recorded.totals.exits - fresh.totals.exits),
        changed: faults.filter((f) => f.changed).length,
      },
      state_sha256: { recorded: recordedSha, redecided: redecidedSha },
      // A JetStream run's damage names a stream seq, not a byte: said so by `unit`.
      damage: damage === undefined ? null : { code: damage.code, offset: damage.offset, reason: damage.reason, ...(damage.unit === 'stream seq' ? { unit: 'stream seq' as const } : {}) },
    };
  };
  return { add, report };
}

/** Re-issues one recorded input on the fresh model, as the runtime issued it for its step. */
function feed({ bus, model }: { bus: EventBus; model: Model }, e: Envelope): void {
  const ctx = { vm: e.vm };
  switch (e.type) {
    case 'HostCpusProbed':
      bus.publish({ type: 'HostCpusProbed', data: e.data });
      return;
    case 'VmCreated':
      model.uapi.createVm({ ipa_bits: e.data.ipa_bits });
      return;
    case 'CapabilityChecked':
      model.uapi.checkExtension({ cap: e.data.cap }, ctx);
      return;
    case 'CapabilityEnabled':
      model.uapi.enableCap({ cap: e.data.cap, flags: e.data.flags, args: e.data.args, ...(e.data.step === undefined ? {} : { step: e.data.step }) }, ctx);
      return;
    case 'MemslotRegistered':
    case 'MemslotRefused': {
      const d = e.data;
      // A registered delete records the old slot; the request was memory_size 0 with no backing.
      const deleted = d.change === 'delete';
      const backing = deleted || d.vma.backing === '' ? undefined : { kind: d.vma.backing as never, mte_allowed: d.vma.mte_allowed };
      const step = e.type === 'MemslotRegistered' && e.data.step !== undefined ? { step: e.data.step } : {};
      model.uapi.setUserMemoryRegion({ slot: d.slot, guest_phys_addr: d.guest_phys_addr, memory_size: deleted ? 0n : d.memory_size, flags: d.flags, backing, ...step }, ctx);
      return;
    }
    case 'VcpuCreated':
      model.uapi.createVcpu({ id: e.data.id, el2: e.data.el2 }, ctx);
      return;
    case 'MteTagsCopied':
      model.uapi.mteCopyTags({ guest_ipa: e.data.guest_ipa, length: e.data.length, to_guest: e.data.to_guest }, ctx);
      return;
    case 'MigrationChecked':
      model.uapi.migrate({ target: probeHostCpus(e.data.target_cpus) }, ctx);
      return;
    case 'GuestStage2Written':
      // One guest_stage2 step records one event per entry it wrote; only accepted writes are
      // recorded, so writing them entry by entry replays the step exactly (DOMAIN A.2.8).
      model.nested.writeGuestStage2({ vcpu: e.vcpu, map: [e.data] }, ctx);
      return;
    case 'AccessRequested':
      // The step's access, run by its owner (KVM_RUN) as the runtime runs it.
      model.uapi.runAccess(e.data, { vm: e.vm, vcpu: e.vcpu });
      return;
    default:
      // StateHashRecorded and the like: outputs of the recorded run, not inputs.
      return;
  }
}

const NO_FAULT = (outcome: string | undefined): FaultHandling => ({ plugin: null, decision: null, outcome: outcome ?? 'none', plugin_failures: 0 });

/** Pairs faults by (step, ordinal); a side that took no such fault shows the step's outcome. */
function pair(recorded: FaultTally, fresh: FaultTally): RedecidedFault[] {
  const key = (f: TalliedFault) => `${f.step}:${f.ordinal}`;
  const newByKey = new Map(fresh.faults.map((f) => [key(f), f] as const));
  const out: RedecidedFault[] = [];
  const seen = new Set<string>();
  const entry = (base: TalliedFault, r: FaultHandling, n: FaultHandling): RedecidedFault => ({
    step: base.step,
    ordinal: base.ordinal,
    vcpu: base.vcpu,
    gpa: base.gpa,
    op: base.op,
    ipa: base.ipa,
    esr: base.esr,
    recorded: r,
    redecided: n,
    changed: r.plugin !== n.plugin || r.decision !== n.decision || r.outcome !== n.outcome,
  });
  for (const f of recorded.faults) {
    const n = newByKey.get(key(f));
    seen.add(key(f));
    out.push(entry(f, f.handling, n?.handling ?? NO_FAULT(fresh.outcomes.get(f.step))));
  }
  for (const n of fresh.faults) {
    if (!seen.has(key(n))) out.push(entry(n, NO_FAULT(recorded.outcomes.get(n.step)), n.handling));
  }
  return out.sort((a, b) => a.step - b.step || a.ordinal - b.ordinal);
}
