import type { Envelope, EventData } from '@mteperm/events';
import { openLogReader } from '@mteperm/log';
import type { EventLog, EventLogDamage, LogHeader } from '@mteperm/log';
import { composeRebuildModel } from './compose';
import type { Model } from './compose';
import { stateDigest } from './state-digest';
import { feedAndClose } from './read-log';

/** What replay *rebuild* found (ARCHITECTURE "Event flow"): the state folded from the log and whether it is the recorded one. */
export interface RebuildReport {
  readonly path: string;
  readonly header: LogHeader;
  /** Intact events folded. */
  readonly events: number;
  readonly runStarted: EventData<'RunStarted'> | undefined;
  /** The digest the run recorded in StateHashRecorded, if the log reaches it. */
  readonly recordedSha256: string | undefined;
  /** The digest of the state rebuilt from the events before StateHashRecorded (or all, if absent). */
  readonly rebuiltSha256: string;
  /** recorded === rebuilt; undefined when nothing was recorded (a torn or unfinished log). */
  readonly matches: boolean | undefined;
  /** Where the readable prefix ends, if the log is damaged: everything before it was replayed (a JetStream run names a stream seq). */
  readonly damage: EventLogDamage | undefined;
  readonly model: Model;
  /** What the VMM or the guest got, in log order (only with `collectExits`: it grows with the log). */
  readonly exits: readonly Envelope[];
}

export interface RebuildOptions {
  /** Called every few thousand events with the number folded so far. */
  readonly onProgress?: (events: number) => void;
  /** Keep the exits, failed KVM_RUNs and injected aborts for `exits` (inspect); replay keeps memory flat without. */
  readonly collectExits?: boolean;
}

const EXIT_TYPES = new Set(['MemoryFaultExit', 'MmioExit', 'ArmNisvExit', 'KvmRunFailed', 'InjectedAbort']);

/**
 * Folds every intact record of a `.mtelog` into fresh package states, deciding nothing, and checks
 * the result against the recorded state hash. Refuses (throws LogError) only an unreadable header;
 * a damaged tail is reported with its offset after the intact prefix was folded.
 */
export function rebuildFromLog(path: string, options: RebuildOptions = {}): RebuildReport {
  const reader = openLogReader(path);
  const fold = rebuildFold(options);
  feedAndClose(reader, (e) => fold.add(e));
  const report = fold.report(path, reader.header, reader.damage);
  // The end mark repeats the recorded state hash (log FORMAT.md "End mark"): they must agree.
  const mark = reader.endMark;
  if (report.damage === undefined && mark !== undefined && mark.stateSha256 !== null && mark.stateSha256 !== (report.recordedSha256 ?? null)) {
    const reason = `the end mark's state hash ${mark.stateSha256} differs from the recorded StateHashRecorded ${report.recordedSha256 ?? '(none)'}`;
    return { ...report, damage: { code: 'MTEPERM_LOG_END', file: path, offset: mark.offset, reason, message: `${path}: byte ${mark.offset}: ${reason}` } };
  }
  return report;
}

/** The same over any EventLog (a `.mtelog` file or a JetStream run), reading asynchronously. */
export async function rebuildFromEventLog(log: EventLog, options: RebuildOptions = {}): Promise<RebuildReport> {
  const fold = rebuildFold(options);
  for await (const e of log.envelopes()) fold.add(e);
  return fold.report(log.location, log.header, log.damage);
}

// The fold both readers feed: one event at a time, then the report.
function rebuildFold(options: RebuildOptions): { add(e: Envelope): void; report(path: string, header: LogHeader, damage: EventLogDamage | undefined): RebuildReport } {
  const model = composeRebuildModel();
  let events = 0;
  let runStarted: EventData<'RunStarted'> | undefined;
  let recorded: string | undefined;
  let rebuiltAtRecord: string | undefined;
  const exits: Envelope[] = [];
  return {
    add(e) {
      events++;
      if (options.onProgress !== undefined && (events & 0xfff) === 0) options.onProgress(events);
      if (options.collectExits === true && EXIT_TYPES.has(e.type)) exits.push(e);
      if (e.type === 'StateHashRecorded') {
        recorded = Buffer.from(e.data.sha256).toString('hex');
        rebuiltAtRecord = stateDigest(model);
        return;
      }
      if (e.type === 'RunStarted') runStarted = e.data;
      model.apply(e);
    },
    report(path, header, damage) {
      const rebuilt = rebuiltAtRecord ?? stateDigest(model);
      return {
        path,
        header,
        events,
        runStarted,
        recordedSha256: recorded,
        rebuiltSha256: rebuilt,
        matches: recorded === undefined ? undefined : recorded === rebuilt,
        damage,
        model,
        exits,
      };
    },
  };
}
